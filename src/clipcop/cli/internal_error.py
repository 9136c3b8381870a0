"""The last resort: an exception no row of the CLI's error table knows (a bug) ends in one line.

``clipcop COMMAND: internal error: TYPE: MESSAGE (full traceback in FILE)`` and exit code
:data:`INTERNAL_ERROR`; the traceback goes to a file in the cache folder so that it can be attached to a
bug report. ``--debug`` (or ``CLIPCOP_DEBUG=1``) lets Python print it instead.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clipcop.paths import cache_dir

INTERNAL_ERROR = 70
"""The exit code of an internal error (``EX_SOFTWARE`` of BSD's sysexits); user errors exit 2."""


class _InternalError:
    """Whether this run shows tracebacks (``--debug``), and the one line for an unexpected exception."""

    def __init__(self) -> None:
        self.debug = False

    def start(self) -> None:
        """A new command: debugging as ``CLIPCOP_DEBUG`` says until ``--debug`` is read."""
        self.debug = os.environ.get("CLIPCOP_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")

    def line(self, err: BaseException, command: Any, args: Sequence[str]) -> str:
        """The one line for ``err`` (with its traceback saved); under ``--debug``, ``err`` raised again."""
        if self.debug:
            raise err
        where = " ".join(["clipcop", *command_names(command, args)])
        message = " ".join(str(err).split()) or "(no message)"
        saved = save_traceback(err)
        tail = f"full traceback in {saved}" if saved is not None else "rerun with --debug for the traceback"
        return f"{where}: internal error: {type(err).__name__}: {message} ({tail})\n"


internal_error = _InternalError()


def command_names(command: Any, args: Sequence[str]) -> list[str]:
    """The subcommand names at the start of ``args`` (``["data", "index"]``), skipping options before them."""
    names: list[str] = []
    for token in args:
        if token.startswith("-"):
            continue
        commands = getattr(command, "commands", None)  # a group (Typer's own class, or Click's)
        if not isinstance(commands, dict) or token not in commands:
            break
        names.append(token)
        command = commands[token]
    return names


def save_traceback(err: BaseException) -> Path | None:
    """Write ``err``'s traceback to ``<cache>/errors/`` (else the temporary folder); None if neither works."""
    text = "".join(traceback.format_exception(err))
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for folder in (cache_dir() / "errors", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=folder, prefix=f"clipcop-internal-error-{stamp}-", suffix=".txt")
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            return Path(name)
        except OSError:
            continue
    return None


__all__ = ["INTERNAL_ERROR", "command_names", "internal_error", "save_traceback"]
