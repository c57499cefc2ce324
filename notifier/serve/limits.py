"""What one client may hold of the server: granian's limits and timeouts, for both listeners.

granian bounds the connection and the request head; the body is bounded one
layer up (`edge/bodies.py`), as granian has no body-read timeout.

- `backpressure` is how many connections one granian worker serves at once
  (further ones wait in the listen backlog). Each open connection holds a slot
  while it is open, busy or idle, so it is set well above what a household
  needs (a browser keeps about six) and what a slow-client attack can fill
  before the body deadline frees the slots again.
- `header_read_timeout` closes an HTTP/1 connection whose request head does not
  arrive in time; hyper applies the same timer to an idle keep-alive
  connection waiting for its next request, so it is also the keep-alive timeout.
- The head of a request may use at most `MAX_HEAD` bytes (HTTP/1 buffer,
  HTTP/2 header list): ours are a few hundred bytes, granian's HTTP/2 default is 16 MiB.
- HTTP/2 (the LAN HTTPS listener, via ALPN) pings idle connections and drops
  those that do not answer, and one connection may carry at most
  `H2_STREAMS` requests at once.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)

BACKLOG = 1024  # connections the kernel queues before granian accepts them
BACKPRESSURE = 1024  # connections served at once per listener (see above)
HEADER_READ_TIMEOUT_MS = 5_000  # the head of a request, and a keep-alive connection's idle time
MAX_HEAD = 64 * 1024  # bytes of request line and headers
H2_PING_INTERVAL_MS = 10_000
H2_PING_TIMEOUT_S = 10
H2_STREAMS = 32
H2_WINDOW = 256 * 1024  # flow-control window per stream and per connection: bodies are small
WANTED_FILES = 4 * BACKPRESSURE  # two listeners' connections, plus the database, logs and pushes


def granian_options() -> dict[str, Any]:
    """Keyword arguments for granian's embedded `Server`, the same for both listeners."""
    from granian.http import HTTP1Settings, HTTP2Settings

    return {
        "backlog": BACKLOG,
        "backpressure": min(BACKPRESSURE, _file_budget() // 4),
        "http1_settings": HTTP1Settings(
            header_read_timeout=HEADER_READ_TIMEOUT_MS,
            keep_alive=True,
            max_buffer_size=MAX_HEAD,
        ),
        "http2_settings": HTTP2Settings(
            initial_connection_window_size=H2_WINDOW,
            initial_stream_window_size=H2_WINDOW,
            keep_alive_interval=H2_PING_INTERVAL_MS,
            keep_alive_timeout=H2_PING_TIMEOUT_S,
            max_concurrent_streams=H2_STREAMS,
            max_headers_size=MAX_HEAD,
        ),
    }


def _file_budget() -> int:
    """Open files this process may have, raised towards `WANTED_FILES` where the OS allows.

    Many desktops start programs with a soft limit of 1024. Past it, accept()
    fails and granian retries it at once, spinning; so the number of
    connections served stays well below what the process can open.
    """
    if os.name != "posix":
        return WANTED_FILES  # Windows has no such per-process descriptor limit
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < WANTED_FILES:
        target = WANTED_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_FILES)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %s", soft)
    return WANTED_FILES if soft == resource.RLIM_INFINITY else int(soft)
