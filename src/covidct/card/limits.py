"""The size limit of a card file, apart from the YAML loader so that what only compares sizes (the card
index re-hashing an unchanged file) does not import a YAML library."""

MAX_BYTES = 1 << 20  # bytes of a card file

__all__ = ["MAX_BYTES"]
