"""The settings a checkpoint was trained with, as the TOML a ``--config`` file holds (``clipcop info CKPT
--config``): the flat settings recorded in its metadata, rebuilt into the command's config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clipcop.engine.checkpoint import read_card
from clipcop.errors import CheckpointError, UsageError
from clipcop.settings_file import config_to_settings, dumps_settings, settings_to_config
from clipcop.workflows.extract import ModelSource
from clipcop.workflows.finetune import FinetuneConfig
from clipcop.workflows.pretrain import PretrainConfig

COMMANDS: dict[str, tuple[str, Any]] = {
    "vcop": ("clipcop pretrain", PretrainConfig),
    "finetune": ("clipcop finetune", FinetuneConfig),
}
"""Checkpoint kind -> the command that trains it and its config type."""


def _typed(flat: dict[str, Any]) -> dict[str, Any]:
    """JSON's lists back to the tuples the configs hold."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in flat.items()}


def checkpoint_config(path: str | Path) -> tuple[str, Any]:
    """The command and the config a checkpoint was trained with."""
    card = read_card(path)
    if card.kind not in COMMANDS or not card.config:
        raise CheckpointError(f"{path} records no training settings (a {card.kind!r} checkpoint)")
    command, config_type = COMMANDS[card.kind]
    flat = _typed(dict(card.config))
    try:
        if isinstance(flat.get("source"), dict):
            flat["source"] = ModelSource(**_typed(flat["source"]))
        config = config_type.from_options(**flat)
        # every value checked for its type, as a settings file's would be (a header edited by hand)
        settings_to_config(config_type, config_to_settings(config), source=f"{path}'s recorded settings")
        return command, config
    except (UsageError, TypeError, ValueError, KeyError, AttributeError) as err:
        why = " ".join(str(err).split())
        raise CheckpointError(f"{path} records settings this clipcop cannot read ({why})") from None


def checkpoint_settings_toml(path: str | Path) -> str:
    """The TOML of the settings ``path`` was trained with; ``COMMAND --config FILE`` with it reruns the run."""
    command, config = checkpoint_config(path)
    header = f"the settings {path} was trained with. Rerun with\n  {command} --config THIS_FILE --out NEW_FOLDER"
    return dumps_settings(config_to_settings(config), header=header)
