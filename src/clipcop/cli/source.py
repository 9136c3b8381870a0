"""Turning ``--checkpoint`` / ``--random --arch`` and geometry flags into a :class:`ModelSource`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clipcop.config import parse_size

if TYPE_CHECKING:
    from clipcop.workflows.extract import ModelSource


def model_source(
    checkpoint: str | None,
    random: bool,
    arch: str | None,
    width: int | None,
    clip_len: int | None,
    resize: str | None,
    crop: int | None,
    seed: int = 0,
) -> ModelSource:
    """The model the features come from, with the geometry overrides the user gave."""
    from clipcop.workflows.extract import ModelSource  # imports torch: only once a command runs

    return ModelSource(
        checkpoint=checkpoint,
        random=random,
        arch=arch,
        width=width,
        seed=seed,
        clip_len=clip_len,
        resize=parse_size(resize) if resize else None,
        crop=crop,
    )
