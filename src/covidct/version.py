"""covidct's version, in a module of its own so that any module can say it without importing the package's
public API (``covidct/__init__`` reaches the loader and ``combine``: importing it from below would be a circle)."""

__version__ = "0.1.0"

ORG = "covidct"  # the namespace of card refs (`covidct/<id>`) and the Hugging Face Hub organisation
