"""The checkpoint card: what a clipcop checkpoint says about itself, typed, read and written in one place.

A checkpoint's safetensors header holds a JSON object under the key ``clipcop``. :class:`CheckpointCard`
is that object with each known field checked for its type, so that every command reading a checkpoint
(``info``, ``extract``, ``retrieve``, ``finetune``, the curricula, ``vqa``) agrees on what it means, and a
malformed header fails in one line that names the file and the field. ``to_meta`` gives back the object
as read, keys of other kinds (a vqa model's vocabulary, a window's provenance) included.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from clipcop.config import CHOICE_FLAGS, ModelChoices
from clipcop.errors import CheckpointError, MalformedCheckpointError, UsageError
from clipcop.validation import shown

T = TypeVar("T")

KINDS = ("vcop", "finetune", "vqa", "random", "torchvision")
"""``vcop`` and ``finetune`` checkpoints hold a backbone, ``vqa`` ones an E-SA model; ``random`` describes a
randomly initialised backbone (the paper's baseline) and ``torchvision`` one of torchvision's video ResNets
with given weights (its Kinetics-400 ones: the supervised baseline); neither is ever written."""

BACKBONE_KINDS = ("vcop", "finetune")
"""Kinds whose card must say which backbone they hold (``arch`` and ``width``)."""

FEATURE_FORMAT_PREFIX = "clipcop.features"

_INT, _STR, _OBJECT = "an integer", "a string", "a JSON object"
CHOICE_KEYS = ("protocol", *CHOICE_FLAGS)
"""The card's record of the parity switches: the protocol and the four switches."""


@dataclass(frozen=True, kw_only=True)
class CheckpointCard:
    """A checkpoint's metadata. Fields absent from the header are ``None``; ``extra`` keeps the rest.

    Model: ``kind``, ``arch``, ``width``; the parity switches ``pool5``, ``weight_init``, ``pixels``,
    ``shortcut`` and the ``protocol`` they amount to (:class:`clipcop.config.ModelChoices`; a checkpoint
    from before them has none, and was made with clipcop's defaults: :meth:`choices`); tuple:
    ``clip_len``, ``interval``, ``tuple_len`` (VCOP only);
    ``weights``: the torchvision weights a backbone started from (``kinetics400``, or a state dict file);
    geometry: ``resize`` (height, width), ``crop``; labels: ``num_classes``, ``classes`` (fine-tuned
    classifiers). Training: ``seed``, ``epoch``, ``step``, ``metrics``, ``config`` (every setting of the
    run), ``data`` (the dataset's description) and ``validation`` (the fingerprint of its validation
    videos). Provenance: ``init`` and ``init_kind`` (the checkpoint it started from), ``source`` (where a
    loaded model came from), ``created``, ``window`` (a curriculum window model), ``resume_state`` (the
    training state beside ``last.safetensors``). Versions: ``format``, ``version`` (clipcop), ``torch``.
    """

    kind: str
    arch: str | None = None
    width: int | None = None
    clip_len: int | None = None
    interval: int | None = None
    tuple_len: int | None = None
    resize: tuple[int, int] | None = None
    crop: int | None = None
    protocol: str | None = None
    pool5: str | None = None
    weight_init: str | None = None
    pixels: str | None = None
    shortcut: str | None = None
    weights: str | None = None
    num_classes: int | None = None
    classes: tuple[str, ...] | None = None
    seed: int | None = None
    epoch: int | None = None
    step: int | None = None
    metrics: Mapping[str, Any] | None = None
    config: Mapping[str, Any] | None = None
    data: Mapping[str, Any] | None = None
    validation: Mapping[str, Any] | None = None
    init: str | None = None
    init_kind: str | None = None
    source: str | None = None
    created: str | None = None
    window: Mapping[str, Any] | None = None
    resume_state: str | None = None
    format: str | None = None
    version: str | None = None
    torch: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keys of no field above, kept as read (a vqa model's ``model``, ``vocabulary``, ``answers``...)."""
    nulls: frozenset[str] = frozenset()
    """Fields written as an explicit JSON ``null`` (``"init": null``), so ``to_meta`` gives them back."""
    path: Path | None = field(default=None, compare=False)
    """The file the card was read from, for messages (``None`` for a card made in memory)."""

    @classmethod
    def from_meta(cls, meta: object, path: str | Path | None = None) -> CheckpointCard:
        """The card of the metadata ``meta`` read from ``path``; a field of the wrong type, or a missing
        one the kind needs, raises one-line :class:`CheckpointError` naming the file and the field."""
        where = Path(path) if path is not None else None
        if not isinstance(meta, dict):
            raise _malformed(where, f"it is {_shape(meta)}, not a JSON object")
        if isinstance(meta.get("format"), str) and meta["format"].startswith(FEATURE_FORMAT_PREFIX):
            raise CheckpointError(f"{where} is a feature file (written by clipcop extract), not a model checkpoint")
        values: dict[str, Any] = {}
        for key in _FIELDS:
            if key in meta and meta[key] is not None:
                values[key] = _checked(where, key, meta[key])
        kind = values.get("kind")
        if kind is None:
            raise _malformed(where, "it has no kind")
        for key in ("arch", "width") if kind in BACKBONE_KINDS else ():
            if key not in values:
                raise _malformed(where, f"a {kind} checkpoint needs {key}, and it has none")
        extra = {key: value for key, value in meta.items() if key not in _FIELDS}
        nulls = frozenset(key for key in _FIELDS if key in meta and meta[key] is None)
        return cls(**values, extra=extra, nulls=nulls, path=where)

    @classmethod
    def for_run(cls, *, kind: str, created: str | None = None, **entries: Any) -> CheckpointCard:
        """A card for a checkpoint about to be written: ``entries`` as the header will spell them (tuples
        become lists, ``None`` is written as ``null``, keys of no field go to ``extra``), checked like a
        card read back, and stamped with the current UTC time unless ``created`` is given."""
        stamped = (
            created if created is not None else _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
        )
        meta = json.loads(json.dumps({"kind": kind, "created": stamped, **entries}))
        return cls.from_meta(meta)

    def to_meta(self) -> dict[str, Any]:
        """The JSON object for the checkpoint header, exactly as read (lists for tuples, keys sorted)."""
        meta: dict[str, Any] = dict(self.extra)
        for key in _FIELDS:
            value = getattr(self, key)
            if value is not None:
                meta[key] = list(value) if isinstance(value, tuple) else _plain(value)
            elif key in self.nulls:
                meta[key] = None
        return {key: meta[key] for key in sorted(meta)}

    def choices(self) -> ModelChoices:
        """The parity switches the model was made with (clipcop's defaults for those it does not record)."""
        try:
            return ModelChoices.recorded(self)
        except UsageError as err:
            raise _malformed(self.path, str(err).replace("--", "", 1)) from None

    def with_metrics(self, **more: Any) -> CheckpointCard:
        """This card with ``more`` added to its metrics (e.g. test accuracy once the run is scored)."""
        return replace(self, metrics={**(self.metrics or {}), **more})

    def model_only(self) -> CheckpointCard:
        """Only what the model is (kind, arch, width, tuple, geometry, seed, data): the part a model
        trained further from this one shares with it; metrics, settings and provenance are its own."""
        keep = {key: getattr(self, key) for key in _MODEL_FIELDS}
        return CheckpointCard(**keep, nulls=self.nulls & frozenset(_MODEL_FIELDS), path=self.path)

    def summary(self) -> dict[str, Any]:
        """Which model this is in a few keys (kind, arch, width, source, seed, tuple_len, epoch): what a
        feature file records about the model that made it."""
        meta = self.to_meta()
        return {key: meta[key] for key in _SUMMARY_FIELDS if key in meta}

    def entry(self, name: str, expected: type[T], default: T | None = None) -> T:
        """The kind-specific entry ``name`` of ``extra`` (e.g. a vqa model's ``vocabulary``), checked to be
        an ``expected``; ``default`` when absent (missing with no default: a one-line error)."""
        if name not in self.extra or self.extra[name] is None:
            if default is None:
                raise _malformed(self.path, f"it has no {name}")
            return default
        value = self.extra[name]
        if not isinstance(value, expected):
            noun = {dict: _OBJECT, list: "a JSON list", str: _STR, int: _INT}.get(expected, expected.__name__)
            raise _malformed(self.path, f"{name} is {_shape(value)}, not {noun}")
        return value


_MODEL_FIELDS = (
    "kind",
    "arch",
    "width",
    "clip_len",
    "interval",
    "tuple_len",
    "resize",
    "crop",
    *CHOICE_KEYS,
    "seed",
    "data",
)
_SUMMARY_FIELDS = ("kind", "arch", "width", "source", "weights", "seed", "tuple_len", "epoch", *CHOICE_KEYS)
_FIELDS = tuple(f.name for f in fields(CheckpointCard) if f.name not in ("extra", "nulls", "path"))
_INTS = ("width", "clip_len", "interval", "tuple_len", "crop", "num_classes", "seed", "epoch", "step")
_OBJECTS = ("metrics", "config", "data", "validation", "window")


def _checked(path: Path | None, key: str, value: Any) -> Any:
    """``value`` of field ``key`` in the card's type (tuples for lists), or a one-line error naming both."""
    if key in _INTS:
        ok = isinstance(value, int) and not isinstance(value, bool)
        noun = _INT
    elif key in _OBJECTS:
        ok, noun = isinstance(value, dict), _OBJECT
    elif key == "resize":
        ok = isinstance(value, list) and len(value) == 2 and all(_is_int(v) for v in value)
        noun = "a [height, width] list of integers"
        value = tuple(value) if ok else value
    elif key == "classes":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        noun = "a list of class names"
        value = tuple(value) if ok else value
    else:
        ok, noun = isinstance(value, str), _STR
    if not ok:
        raise _malformed(path, f"{key} is {_shape(value)}, not {noun}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """Mappings as plain dicts, so ``to_meta`` is JSON-ready whatever mapping a card was given."""
    return dict(value) if isinstance(value, Mapping) else value


def _shape(value: Any) -> str:
    """A short one-line rendering of a bad value for an error message."""
    return shown(value)


def _malformed(path: Path | None, why: str) -> MalformedCheckpointError:
    where = path if path is not None else "a checkpoint"
    return MalformedCheckpointError(f"{where} has malformed clipcop metadata: {why}", path=path)


__all__ = ["BACKBONE_KINDS", "KINDS", "CheckpointCard"]
