"""Talking to people: logs, tables and progress on stderr (rank 0 only); results go to stdout elsewhere.

On a terminal a rich progress bar shows throughput and ETA; in logs (clusters, CI) the same numbers come
as a plain line every few seconds instead of redrawn bars.
"""

from __future__ import annotations

import os
import time
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

LOG_WIDTH = 160
"""Columns of tables in logs: wide enough for long class and file names (rich would use 80)."""


def stderr_console() -> Console:
    """A rich console on stderr. In a log (stderr not a terminal, no ``COLUMNS``) lines are never hard-wrapped,
    so a long path or message stays one greppable line, and tables get :data:`LOG_WIDTH` columns."""
    console = Console(stderr=True, highlight=False, markup=False)
    if console.is_terminal or os.environ.get("COLUMNS"):
        return console
    return Console(stderr=True, highlight=False, markup=False, soft_wrap=True, width=LOG_WIDTH)


class Reporter:
    """Messages, tables and progress for one command, written to stderr by the main process only."""

    def __init__(self, *, quiet: bool = False, console: Console | None = None) -> None:
        # markup off: file, class and run names may hold "[...]"; only note/warn add markup, around escaped text
        from clipcop.engine.distributed import is_main  # imports torch: not while the CLI only parses arguments

        self.console = console or stderr_console()
        self.enabled = is_main() and not quiet

    def info(self, message: str) -> None:
        """An informational line."""
        if self.enabled:
            self.console.print(message, markup=False)

    def note(self, message: str) -> None:
        """A line users should not miss (defaults scaled down, data generated, files skipped...)."""
        if self.enabled:
            self.console.print(f"[bold]note:[/bold] {escape(message)}", soft_wrap=True, markup=True)

    def warn(self, message: str) -> None:
        """A warning line."""
        if self.enabled:
            self.console.print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True, markup=True)

    def table(self, table: Table) -> None:
        """Render a rich table."""
        if self.enabled:
            self.console.print(table)

    def progress(self, total: int, description: str, unit: str = "items") -> ProgressLine:
        """A progress context: ``with reporter.progress(n, "epoch 1") as p: p.advance(k, loss=...)``."""
        return ProgressLine(self, total, description, unit)


class ProgressLine:
    """One task's progress with throughput, shown as a bar on terminals and as lines in logs."""

    def __init__(self, reporter: Reporter, total: int, description: str, unit: str) -> None:
        self.reporter = reporter
        self.total = total
        self.description = description
        self.unit = unit
        self.done = 0
        self.fields: dict[str, str] = {}
        self.started = time.perf_counter()
        self.last_line = self.started
        self._progress: Progress | None = None
        self._task = TaskID(0)

    def __enter__(self) -> ProgressLine:
        if self.reporter.enabled and self.reporter.console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[extra]}"),
                console=self.reporter.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, rate="", extra="")
        return self

    def rate(self) -> float:
        """Items per second so far."""
        return self.done / max(time.perf_counter() - self.started, 1e-9)

    def advance(self, count: int, **fields: str) -> None:
        """Record ``count`` more items and update the shown fields (e.g. ``loss="1.23"``)."""
        self.done += count
        self.fields.update(fields)
        extra = " ".join(f"{k} {v}" for k, v in self.fields.items())
        rate = f"{self.rate():.1f} {self.unit}/s"
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done, rate=rate, extra=extra)
            return
        now = time.perf_counter()
        if self.reporter.enabled and (now - self.last_line > 15 or self.done >= self.total):
            self.last_line = now
            self.reporter.info(f"{self.description}: {self.done}/{self.total} {rate} {extra}".rstrip())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
