"""Machine-readable exports of the cards (Croissant JSON-LD)."""
