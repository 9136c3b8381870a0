"""The run folder's files and what may be done with them: which names a run writes, when a new run may
start in a folder, and which settings a ``--resume`` must keep (for pretraining and fine-tuning alike).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from clipcop._version import __version__
from clipcop.engine.atomic import remove_leftovers
from clipcop.engine.checkpoint import read_card
from clipcop.engine.lock import locked
from clipcop.engine.reporting import Reporter
from clipcop.errors import MalformedDataError, UsageError
from clipcop.processes.torchrun_env import env_rank
from clipcop.settings_file import write_settings
from clipcop.validation import INT, NUMBER, Fields, optional, parse_json_line

LAST, BEST, METRICS = "last.safetensors", "best.safetensors", "metrics.jsonl"
SETTINGS = "config.toml"
"""The complete resolved settings of the run, written at its start: ``--config`` with it reruns the run."""
STATE_PATTERN = "last.state.e{epoch:05d}.safetensors"
"""Training state beside ``last.safetensors``; named by epoch so that weights and state always match."""


@contextlib.contextmanager
def run_lock(run_dir: Path, reporter: Reporter) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the whole run (:mod:`clipcop.engine.lock`; rank 0 alone under
    torchrun): a second process on the same ``--out`` is refused with one line naming this one. Inside
    it, the temporary files a killed run left (checkpoint-sized ``.NAME.xxxxxxxx.tmp``) are removed."""
    main = env_rank() == 0
    with locked(run_dir, folder=True, what=f"run folder {run_dir}", enabled=main) as stale:
        if stale is not None:
            reporter.note(f"{run_dir}: taking over the lock of a run that was killed ({stale.describe()})")
        removed = remove_leftovers(run_dir) if main else []
        if removed:
            reporter.note(f"{run_dir}: removed {len(removed)} temporary files left by a killed run")
        yield


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """The epoch records of ``metrics.jsonl`` (empty when absent; a line cut short by a kill, or one that is
    not a clipcop epoch record, is skipped)."""
    path = run_dir / METRICS
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        record = parse_json_line(line, path, METRICS_WHAT, number, error=MalformedDataError)
        if isinstance(record, dict) and INT(record.get("epoch")):
            records.append(Fields(record, path, METRICS_WHAT, prefix=f"line {number}:", error=MalformedDataError))
    return [fields.check(RECORD_FIELDS) for fields in records]


METRICS_WHAT = "metrics file"
RECORD_FIELDS = {
    "step": INT,
    "best_epoch": INT,
    **{key: optional(NUMBER) for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr")},
    **dict.fromkeys(("throughput", "data_wait_s"), NUMBER),
}
"""The shapes of an epoch record's numbers (``epoch`` is an integer, or the line is not a record)."""


def state_path(run_dir: Path) -> Path | None:
    """The training state that belongs to ``last.safetensors`` (None when there is no resumable run)."""
    if not (run_dir / LAST).is_file():
        return None
    name = read_card(run_dir / LAST).resume_state
    return run_dir / name if name and (run_dir / name).is_file() else None


def check_run_dir(run_dir: Path, resume: bool, outputs: tuple[str, ...] = ()) -> None:
    """Refuse to overwrite a finished or interrupted run unless asked to resume it.

    A new run (no ``last.safetensors`` to resume from) never starts over files of the names it writes,
    ``outputs`` included: they are an earlier run's whose last checkpoint is gone, or somebody's own.
    """
    if (run_dir / LAST).exists():
        if not resume:
            raise UsageError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
        return
    taken = taken_files(run_dir, outputs)
    if taken and not (resume and first_epoch_cut_short(run_dir, outputs)):
        more = f" and {len(taken) - 3} more" if len(taken) > 3 else ""
        raise UsageError(
            f"{run_dir} already holds {', '.join(taken[:3])}{more} but no {LAST} to resume from: "
            "choose another --out, or move those files away"
        )


def write_run_settings(run_dir: Path, config: Any, command: str) -> Path:
    """Write ``config`` as ``run_dir/config.toml`` (atomically; rank 0 alone under torchrun)."""
    path = run_dir / SETTINGS
    if env_rank() == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        header = f"clipcop {__version__}: every setting of this run. Rerun it with\n  {command} --config {path}"
        write_settings(path, config, header=header)
    return path


def taken_files(run_dir: Path, outputs: tuple[str, ...]) -> list[str]:
    """The files in ``run_dir`` of names a run writes."""
    taken = [name for name in (BEST, METRICS, *outputs) if (run_dir / name).exists()]
    return taken + sorted(path.name for path in run_dir.glob("last.state.e*.safetensors"))


def first_epoch_cut_short(run_dir: Path, outputs: tuple[str, ...] = ()) -> bool:
    """Whether ``run_dir`` holds only what a run killed while saving its first epoch leaves: no
    ``last.safetensors`` yet, epoch-1 metrics lines (the last perhaps cut off), epoch-1 state and best.

    ``--resume`` then starts the run over. Anything else (a later epoch, a run's final outputs, a line
    that is not clipcop's) is somebody's data and is never replaced.
    """
    if (run_dir / LAST).exists() or any((run_dir / name).exists() for name in outputs):
        return False
    if any(p.name != STATE_PATTERN.format(epoch=1) for p in run_dir.glob("last.state.e*.safetensors")):
        return False
    if (run_dir / BEST).exists() and read_card(run_dir / BEST).epoch != 1:
        return False
    path = run_dir / METRICS
    lines = path.read_text(errors="replace").splitlines() if path.is_file() else []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            if number == len(lines):  # a last line cut off by the kill
                continue
            return False
        if not (isinstance(record, dict) and record.get("epoch") == 1):
            return False
    return True


TRAINING_KEYS = (
    "data",
    "dataset",
    "split",
    "val_size",
    "batch_size",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "schedule",
    "steps_per_epoch",
    "seed",
)
"""The data and optimisation settings every training command's ``--resume`` must keep; each command adds
those of its model."""


def check_resume_settings(run_dir: Path, config: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Refuse to resume ``run_dir`` with ``keys`` of ``config`` other than its run used.

    These define the experiment (model, data, optimiser, schedule, seed); a resumed run must continue the
    same one. Settings of the machine (device, precision, workers, backend) and ``epochs`` may change.
    The optimiser's saved state would otherwise silently override a new momentum or weight decay, and a
    new validation split would make "best" compare different sets.
    """
    last = run_dir / LAST
    if not last.is_file():
        return
    changed = changed_settings(dict(read_card(last).config or {}), config, keys)
    if changed:
        key, old, new = changed[0]
        raise UsageError(f"cannot resume {run_dir}: it was run with {key}={old}, now {key}={new}")


def check_resume_validation(run_dir: Path, validation: dict[str, Any]) -> None:
    """Refuse to resume ``run_dir`` when its validation videos (``validation``, a fingerprint recorded in its
    checkpoints) are not the ones this run would use: "best" would compare losses on different sets.

    The settings may all match while the usable videos changed (files added, removed or damaged, or a
    clipcop that chose them otherwise). Checkpoints that record no fingerprint are not checked.
    """
    last = run_dir / LAST
    recorded = read_card(last).validation if last.is_file() else None
    if recorded is not None and recorded != validation:
        raise UsageError(
            f"cannot resume {run_dir}: it validated on other videos ({recorded.get('videos')} then, "
            f"{validation.get('videos')} now: the usable videos changed); start a new --out"
        )


PATH_KEYS = ("data", "init", "train_list", "checkpoint", "weights")
"""Settings that name a file or folder: equal when they name the same one, however spelled."""


def changed_settings(
    saved: dict[str, Any], config: dict[str, Any], keys: tuple[str, ...]
) -> list[tuple[str, Any, Any]]:
    """``(key, saved value, current value)`` for each of ``keys`` that differs between two run configs;
    nested settings (fine-tuning's model ``source``) are compared key by key, as ``source.checkpoint``."""
    changed = []
    for key in keys:
        old, new = _plain(saved.get(key)), _plain(config.get(key))
        if isinstance(old, dict) and isinstance(new, dict):
            inner = tuple(sorted(set(old) | set(new)))
            changed += [(f"{key}.{k}", o, n) for k, o, n in changed_settings(old, new, inner)]
        elif old != new and not (key in PATH_KEYS and _same_path(old, new)):
            changed.append((key, old, new))
    return changed


def _plain(value: Any) -> Any:
    """``value`` as JSON reads it back (tuples as lists), so saved and current settings compare equal."""
    return json.loads(json.dumps(value))


def _same_path(old: Any, new: Any) -> bool:
    """Whether two path settings name the same file or folder (``~/UCF101`` and ``/home/u/UCF101``)."""
    if not (isinstance(old, str) and isinstance(new, str)):
        return False
    return Path(old).expanduser().resolve() == Path(new).expanduser().resolve()


__all__ = [
    "BEST",
    "LAST",
    "METRICS",
    "SETTINGS",
    "STATE_PATTERN",
    "TRAINING_KEYS",
    "changed_settings",
    "check_resume_settings",
    "check_run_dir",
    "first_epoch_cut_short",
    "read_metrics",
    "run_lock",
    "state_path",
    "taken_files",
    "write_run_settings",
]
