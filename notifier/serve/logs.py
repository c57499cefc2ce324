"""Logging: to the console when there is one, and to a rotated file in the data dir."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from notifier.config import Config

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(config: Config) -> None:
    """Configure the root logger once for a server process."""
    root = logging.getLogger()
    root.setLevel(config.log_level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    formatter = logging.Formatter(FORMAT)
    # A windowed (no console) build has sys.stderr = None.
    if sys.stderr is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(formatter)
        root.addHandler(console)
    log_dir = config.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / "notifier.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(formatter)
    root.addHandler(file_handler)
    # Access logs and per-request chatter stay out of the user's console.
    for noisy in ("httpx", "httpcore", "anthropic", "aiosqlite", "granian.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
