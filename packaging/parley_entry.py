"""Entry point of the frozen build: the same `parley` command as the console script."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
