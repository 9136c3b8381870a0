"""A probe whose module cannot be imported in a worker process, like a worker killed while starting.

The worker exits before it reads its first task, so that task is still unread in the pipe when it dies:
the parent's read then fails with a connection reset instead of an end of file.
"""

from __future__ import annotations

import os

from clipcop.videos.decoder import VideoInfo
from clipcop.videos.isolated import probe_file

DIE = "CLIPCOP_TEST_WORKER_DIES"
"""Set in the parent after importing this module: every worker process that imports it exits."""

if os.environ.get(DIE):
    raise SystemExit(3)


def probe(path: str, backend: str) -> tuple[VideoInfo | None, str | None]:
    """Probes normally (only ever called in the parent, where this module imports)."""
    return probe_file(path, backend)
