"""Start the real server as a child process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`python -m notifier serve` (or `command serve`, e.g. the built executable) in a child process; stopped by PID."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        command: tuple[str, ...] = (sys.executable, "-m", "notifier"),
        double_click: bool = False,
    ) -> None:
        """`double_click`: no arguments at all (data dir and port from the environment), browser opened."""
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.args = args
        self.command = command
        self.double_click = double_click
        self.proc: subprocess.Popen[str] | None = None
        self.log = data_dir.parent / f"server-{self.port}.out"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start and wait until /healthz answers. The timeout is patience, not a speed claim:
        it costs only a failing start, and on a loaded 2-core CI machine the imports alone
        can take several seconds (bench/ measures start-up time)."""
        out = open(self.log, "w")
        if self.double_click:
            argv = list(self.command)
            self.env.update(NOTIFIER_DATA_DIR=str(self.data_dir), NOTIFIER_PORT=str(self.port))
        else:
            argv = [
                *self.command,
                "serve",
                "--no-browser",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
            ]
        self.proc = subprocess.Popen(
            [*argv, *self.args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=self.env,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not become healthy:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def terminate(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def notifier_cli(data_dir: Path, *args: str) -> str:
    """Run `python -m notifier ARGS --data-dir DATA_DIR` (e.g. `token`, `login --no-browser`); its stdout."""
    return subprocess.run(
        [sys.executable, "-m", "notifier", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()


def recording_browser(folder: Path) -> tuple[str, Path]:
    """A stand-in browser for `BROWSER=`: (its command, the file listing the URLs it was asked to open)."""
    opened = folder / "opened.txt"
    script = folder / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{opened}"\n')
    script.chmod(0o755)
    return str(script), opened


# -- process trees, for the onefile executable (a parent that unpacks, a child that runs) --


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            pass
    return found


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    tree, queue = [], [pid]
    while queue:
        current = queue.pop()
        tree.append(current)
        queue += child_pids(current)
    return tree


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return False
    return fields[0] != "Z"


def rss_kb(pid: int) -> int:
    """Resident set size of one process in KiB (0 if gone)."""
    return _proc_kb(f"/proc/{pid}/status", "VmRSS:")


def pss_kb(pid: int) -> int:
    """Proportional set size (shared pages split among their users) in KiB (0 if gone)."""
    return _proc_kb(f"/proc/{pid}/smaps_rollup", "Pss:")


def _proc_kb(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def unpack_dirs(pids: list[int]) -> set[Path]:
    """The PyInstaller onefile temp folders (`_MEI…`) these processes have mapped files from."""
    found = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        for line in maps.splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and "/_MEI" in fields[5]:
                head, _, rest = fields[5].partition("/_MEI")
                found.add(Path(f"{head}/_MEI{rest.split('/')[0]}"))
    return found
