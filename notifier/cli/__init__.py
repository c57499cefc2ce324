"""The command line: `notifier [serve]`, `notifier token|pair|login`, `notifier --version`."""

from notifier.cli.main import main

__all__ = ["main"]
