"""Where bundled files live, in a checkout and in a PyInstaller build."""

from __future__ import annotations

import sys
from pathlib import Path


def bundle_root() -> Path:
    """The folder holding `web/`: PyInstaller's unpack dir when frozen."""
    frozen = getattr(sys, "_MEIPASS", None)
    return Path(frozen) if frozen else Path(__file__).resolve().parents[2]


def web_root() -> Path:
    """The PWA's static files."""
    return bundle_root() / "web"
