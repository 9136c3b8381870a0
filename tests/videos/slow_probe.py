"""Probe stand-ins that misbehave like damaged files do (hang forever, crash the process), or report on
the process they run in."""

from __future__ import annotations

import os
import signal
import time

from clipcop.videos.decoder import VideoInfo, probe_file


def hang_or_crash(path: str, backend: str) -> tuple[VideoInfo | None, str | None]:
    """Hangs on files named ``hang*``, kills its process on ``crash*``, else probes normally."""
    name = os.path.basename(path)
    if name.startswith("hang"):
        time.sleep(3600)
    if name.startswith("crash"):
        os._exit(11)
    return probe_file(path, backend)


def report_sigint(path: str, backend: str) -> tuple[VideoInfo | None, str | None]:
    """Reports, as its error text, how the probing process handles SIGINT."""
    return None, f"SIGINT: {signal.getsignal(signal.SIGINT)!r}"
