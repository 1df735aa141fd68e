"""`python -m stocksdb` runs the command line."""

import sys

from stocksdb.cli import main

sys.exit(main())
