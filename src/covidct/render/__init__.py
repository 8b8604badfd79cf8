"""Human-readable renderings of a card (terminal text; the site and Hub README build on the same facts)."""
