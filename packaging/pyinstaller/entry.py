"""The frozen program's entry point: the `workbench` command, which starts the window when given no sub-command."""

import multiprocessing
import sys

from workbench.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a no-op unless something spawns worker processes
    sys.exit(main())
