"""Turning ``--checkpoint`` / ``--random --arch`` / ``--arch --weights`` and geometry flags into a
:class:`ModelSource`, with or without a settings file (whose ``[source]`` table holds the same keys)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

C = TypeVar("C")

SOURCE_FLAGS = (
    "checkpoint",
    "random",
    "arch",
    "weights",
    "width",
    "clip_len",
    "resize",
    "crop",
    "seed",
    "protocol",
    "weight_init",
    "pixels",
    "shortcut",
)
"""The flags that describe the model a command reads; in a settings file, the keys of ``[source]``."""


def source_keys(*, shared_seed: str | None = None) -> dict[str, tuple[str, ...]]:
    """Settings keys of the source flags (``checkpoint`` -> ``source.checkpoint``); ``shared_seed`` names a
    second key that ``--seed`` also sets (fine-tuning's ``training.seed``)."""
    keys: dict[str, tuple[str, ...]] = {flag: (f"source.{flag}",) for flag in SOURCE_FLAGS}
    if shared_seed is not None:
        keys["seed"] = ("source.seed", shared_seed)
    return keys


def with_source(make: Callable[..., C], *, shared_seed: bool = False) -> Callable[[dict[str, Any]], C]:
    """A builder for flat options that gathers the source flags into ``source=ModelSource(...)`` first
    (``--seed`` stays a training option too when ``shared_seed``)."""

    def build(options: dict[str, Any]) -> C:
        from clipcop.workflows.extract import ModelSource

        source = {flag: options.pop(flag) for flag in SOURCE_FLAGS if flag in options}
        if shared_seed and "seed" in source:
            options["seed"] = source["seed"]
        return make(source=ModelSource(**source), **options)

    return build
