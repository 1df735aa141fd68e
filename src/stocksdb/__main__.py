"""`python -m stocksdb` runs the command line."""

import sys

from stocksdb.cli import main

if __name__ == "__main__":   # a spawned worker process imports it too
    sys.exit(main())
