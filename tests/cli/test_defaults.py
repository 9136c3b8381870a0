"""Each default lives in the library's config types; the command line passes only the flags a user typed, so
the defaults its ``--help`` shows must be the library's (a drift would show one value and run another)."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from clipcop.cli.main import app
from clipcop.cli.settings import CONVERTERS
from clipcop.cli.source import SOURCE_FLAGS
from clipcop.workflows.curriculum_config import SampleCurriculumConfig, TaskCurriculumConfig
from clipcop.workflows.extract import ExtractConfig, ModelSource
from clipcop.workflows.finetune import FinetuneConfig
from clipcop.workflows.pretrain import PretrainConfig
from clipcop.workflows.retrieve import RetrieveConfig

SOURCE = ModelSource(random=True, arch="r3d")

CONFIGS: dict[str, Any] = {
    "pretrain": PretrainConfig(),
    "curriculum task": TaskCurriculumConfig(),
    "curriculum sample": SampleCurriculumConfig(checkpoint="ckpt.safetensors"),
    "finetune": FinetuneConfig(source=SOURCE),
    "extract": ExtractConfig(source=SOURCE),
    "retrieve": RetrieveConfig(source=SOURCE),
}
"""Each training or extraction command and its config with every default."""

TEXT_ONLY = {"tl_schedule", "stage_epochs", "subset"}
"""Flags typed as text that the command parses before the library sees them (checked through the text)."""


def _command(path: str) -> Any:
    group = typer.main.get_command(app)
    for name in path.split():
        group = group.commands[name]  # type: ignore[attr-defined]
    return group


@pytest.mark.parametrize("path", sorted(CONFIGS))
def test_the_defaults_help_shows_are_the_library_s(path: str) -> None:
    flat = CONFIGS[path].flat()
    checked = 0
    for param in _command(path).params:
        name = param.name
        if name in ("json_out", "quiet", "config_file") or name in SOURCE_FLAGS or name not in flat:
            continue
        default = param.default
        if name in CONVERTERS and isinstance(default, str):
            default = CONVERTERS[name](default)
        expected = flat[name]
        if name == "index":  # --index names the kind of the index spec
            expected = expected["kind"]
        if name in TEXT_ONLY:
            expected = ",".join(map(str, expected)) if isinstance(expected, tuple) else expected
        assert default == expected, f"clipcop {path} --{name.replace('_', '-')}: help shows {default!r}"
        checked += 1
    assert checked >= 5, f"clipcop {path}: only {checked} flags compared"


def test_report_picture_defaults_are_the_library_s() -> None:
    from pathlib import Path

    from clipcop.report.figures import Output

    shown = {param.name: param.default for param in _command("report").params}
    library = Output(Path("report"))
    assert (shown["fmt"], shown["dpi"]) == (library.fmt, library.dpi)
