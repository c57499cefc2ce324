"""`python -m notifier` and the PyInstaller entry point."""

import multiprocessing
import sys

from notifier.cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
