"""Logging: to the console when there is one, and to a rotated file in the data dir."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from notifier.config import Config

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

# C0 controls, DEL, C1 controls and the Unicode line breaks: anything a viewer
# may show as a new line or use to rewrite the screen.
_CONTROLS = {
    c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
    for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
}


def escape_controls(text: str) -> str:
    """`text` on one line: control characters written as escapes (`\\x0a`)."""
    return text.translate(_CONTROLS)


class OneLineFormatter(logging.Formatter):
    """Every record starts on a line of its own that nothing in it can forge.

    The message (and so any request path or header it quotes) has its control
    characters escaped, and the lines of a traceback are indented, so a `%0a`
    in a URL cannot write what looks like another record.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        first, *rest = super().format(record).split("\n")
        return "\n".join([first, *(f"    {escape_controls(line)}" for line in rest)])


def setup_logging(config: Config) -> None:
    """Configure the root logger once for a server process."""
    root = logging.getLogger()
    root.setLevel(config.log_level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    formatter = OneLineFormatter(FORMAT)
    # A windowed (no console) build has sys.stderr = None.
    if sys.stderr is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(formatter)
        # `extra={"console": False}`: for the file only (the console was told in plain words).
        console.addFilter(lambda record: getattr(record, "console", True))
        root.addHandler(console)
    log_dir = config.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / "notifier.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    file_handler.setFormatter(formatter)
    root.addHandler(file_handler)
    # A full disk must not turn every log line into a traceback on stderr; the
    # app goes on (reads keep working) and says so where it can.
    logging.raiseExceptions = False
    # Access logs and per-request chatter stay out of the user's console.
    for noisy in ("httpx", "httpcore", "anthropic", "aiosqlite", "granian.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
