"""The PyInstaller executable, built once per source state into dist/ (git-ignored).

`executable()` returns dist/notifier, building it first unless the build there
was made from the same sources (notifier/, web/, notifier.spec, pyproject.toml),
the same Python and the same installed packages. A lock file serialises
concurrent test runs in one checkout. Used by tests/test_package.py and bench/startup.py.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
WORK = ROOT / "build"
NAME = "notifier.exe" if os.name == "nt" else "notifier"
BUILD_TIMEOUT = 1800  # seconds; a build takes one to a few minutes on 2 cores


def source_state() -> str:
    """A digest of everything that goes into the executable."""
    digest = hashlib.sha256()
    files = [ROOT / "notifier.spec", ROOT / "pyproject.toml"]
    for folder in ("notifier", "web"):
        files += sorted(
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        )
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(sys.version.encode())
    packages = sorted(
        f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()
    )
    digest.update("\n".join(packages).encode())
    return digest.hexdigest()


def executable() -> Path:
    """dist/notifier for the current sources, built if needed (raises RuntimeError if the build fails)."""
    WORK.mkdir(exist_ok=True)
    with open(WORK / "notifier-build.lock", "w") as lock:
        if os.name != "nt":
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # another test run may be building right now
        target, stamp = DIST / NAME, DIST / f"{NAME}.source-sha256"
        state = source_state()
        if target.exists() and stamp.exists() and stamp.read_text().strip() == state:
            return target
        with tempfile.TemporaryDirectory(dir=WORK) as out:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "PyInstaller",
                    "--noconfirm",
                    "--log-level",
                    "WARN",
                    "--workpath",
                    str(WORK / "pyinstaller"),
                    "--distpath",
                    out,
                    str(ROOT / "notifier.spec"),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"PyInstaller failed ({result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
                )
            DIST.mkdir(exist_ok=True)
            os.replace(Path(out) / NAME, target)  # a new file: a running copy keeps its own
        stamp.write_text(state + "\n")
        return target
