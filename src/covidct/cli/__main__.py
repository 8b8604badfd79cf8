"""``python -m covidct.cli``: the ``covidct`` command."""

import sys

from covidct.cli import main

sys.exit(main())
