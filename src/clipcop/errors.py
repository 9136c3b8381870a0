"""Errors a user can cause, each rendered by the CLI as one line and a non-zero exit.

Library code raises these (never ``SystemExit``) so that scripts importing clipcop can catch them.
"""

from __future__ import annotations


class ClipcopError(Exception):
    """Base class for errors caused by input: paths, arguments, videos, checkpoints, feature files."""

    exit_code = 2


class UsageError(ClipcopError):
    """An argument or option value that cannot work (e.g. ``tl`` outside 2..5)."""


class DataError(ClipcopError):
    """A dataset that is missing, empty, mislabelled or in a layout clipcop cannot read."""


class VideoDecodeError(ClipcopError):
    """A video file that cannot be opened or decoded; the message names the file."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"cannot decode video {path}: {reason}")
        self.path = str(path)
        self.reason = reason


class CheckpointError(ClipcopError):
    """A checkpoint that is not a clipcop safetensors file, is truncated, or belongs to another model."""


class FeatureFileError(ClipcopError):
    """A feature or index file that is missing, malformed or does not match what it is used with."""


class TrainingError(ClipcopError):
    """Training that cannot go on with these settings, e.g. a loss that diverged to NaN or infinity."""


class WriteError(ClipcopError):
    """A file that could not be written (a full disk, a read-only folder); the message names the file and,
    for a full disk, the space left. Nothing half-written is left under the file's name."""


class InUseError(ClipcopError):
    """A run folder or an output file that another clipcop process is writing; the message names it and
    that process (pid, host, start time)."""


class HelperError(ClipcopError):
    """Helper processes that exited unexpectedly (often: a script calling clipcop without a main guard)."""


class MalformedFileError(ClipcopError):
    """A file clipcop reads whose JSON (a checkpoint's or feature file's header, an index's metadata, a
    manifest, a QA file, a metrics line) is of the wrong shape, too large or nested too deep.

    The one error of :mod:`clipcop.validation`; the message names the file and the bad field. Subclasses
    also belong to the family of the file's kind, so ``except CheckpointError`` still catches a checkpoint's.
    """

    def __init__(self, message: str, *, path: object = None, field: str = "") -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)
        self.field = field


class MalformedCheckpointError(MalformedFileError, CheckpointError):
    """A checkpoint or training state whose ``clipcop`` header has the wrong shape."""


class MalformedFeatureFileError(MalformedFileError, FeatureFileError):
    """A feature file or index whose header or metadata has the wrong shape."""


class MalformedDataError(MalformedFileError, DataError):
    """A data file (manifest, QA file, metrics) whose JSON has the wrong shape."""
