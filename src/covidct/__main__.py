"""``python -m covidct``: the ``covidct`` command."""

import sys

from covidct.cli import main

sys.exit(main())
