"""Settings files: configs round-trip through TOML text exactly, and each mistake in a file is one line naming it."""

from __future__ import annotations

import math
import os
import random
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from clipcop.errors import UsageError
from clipcop.settings_file import (
    MAX_SETTINGS_BYTES,
    config_to_settings,
    dumps_settings,
    read_config,
    read_settings,
    settings_to_config,
    write_settings,
)

if sys.version_info >= (3, 11):
    import tomllib  # novermin: the standard library's TOML parser from 3.11 on
else:
    import tomli as tomllib


class KeyedUsageError(UsageError):
    """A refusal that names the refused field itself."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, kw_only=True)
class Optim:
    momentum: float = 0.9
    betas: tuple[float, ...] = (0.9, 0.999)


@dataclass(frozen=True, kw_only=True)
class Training:
    epochs: int = field(default=300, metadata={"flag": "--epochs"})
    batch_size: int = 8
    lr: float = 1e-3
    steps_per_epoch: int | None = None
    seed: int = 0
    optim: Optim = Optim()

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise UsageError(f"--epochs must be at least 1, not {self.epochs}")
        if self.batch_size < 1:
            raise KeyedUsageError(f"must be at least 1, not {self.batch_size}", key="batch_size")
        if not self.lr > 0:
            raise UsageError(f"the learning rate must be positive, not {self.lr}")


@dataclass(frozen=True, kw_only=True)
class Geometry:
    resize: tuple[int, int] = (128, 171)
    crop: int = 112

    def __post_init__(self) -> None:
        if self.crop > min(self.resize):
            raise UsageError(f"crop {self.crop} is larger than the resized frame {self.resize[0]}x{self.resize[1]}")


@dataclass(frozen=True, kw_only=True)
class Data:
    root: Path | None = None
    seed: int = 1
    labels: tuple[str, ...] = ()
    scoring: Literal["training", "fixed"] = "training"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Pretrain:
    arch: str = "r3d"
    init: str | None = None
    note: str = ""
    geometry: Geometry = Geometry()
    training: Training = field(default_factory=Training)
    data: Data = field(default_factory=Data)


@dataclass(frozen=True, kw_only=True)
class Finetune:
    checkpoint: str
    training: Training = Training(epochs=50)


def round_trip(config: Any) -> Any:
    text = dumps_settings(config_to_settings(config), header="written by a test")
    return settings_to_config(type(config), tomllib.loads(text), source="config.toml")


def build(text: str, **overrides: Any) -> Pretrain:
    return settings_to_config(Pretrain, tomllib.loads(text), source="config.toml", overrides=overrides)


def message_of(error: pytest.ExceptionInfo[UsageError]) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


TRICKY_STRINGS = [
    'say "hi"',
    "back\\slash \\n not a newline",
    "line\nbreak\r\nand\ttab",
    "ünïcødé ✓ 日本語 🎞",
    "# not a comment",
    "\x00\x01\x1f\x7f\x80\u2028",
    "'single' and '''triple'''",
    '"""',
    "",
    "a = 1\n[x]",
]


@pytest.mark.parametrize("text", TRICKY_STRINGS)
def test_tricky_strings_round_trip(text: str) -> None:
    config = Pretrain(arch=text, init=text, note=text, data=Data(labels=(text, "b"), tags={text: text}))
    assert round_trip(config) == config


@pytest.mark.parametrize("lr", [1e-3, 5e-4, 0.1, 0.30000000000000004, 1e-300, 5e-324, 1e16, 1.7976931348623157e308])
def test_floats_round_trip_exactly(lr: float) -> None:
    config = Pretrain(training=Training(lr=lr, optim=Optim(momentum=-lr, betas=(lr, 0.0, -0.0))))
    back = round_trip(config)
    assert back == config
    assert math.copysign(1.0, back.training.optim.betas[2]) == -1.0


def test_non_finite_floats_are_toml_inf_and_nan() -> None:
    text = dumps_settings({"a": math.inf, "b": -math.inf, "c": math.nan})
    assert text == "a = inf\nb = -inf\nc = nan\n"
    back = tomllib.loads(text)
    assert back["a"] == math.inf and back["b"] == -math.inf and math.isnan(back["c"])


def test_complete_settings_include_defaults_and_omit_none() -> None:
    config = Pretrain(geometry=Geometry(resize=(64, 80), crop=56), data=Data(root=Path("/data/ucf")))
    settings = config_to_settings(config)
    assert settings == {
        "arch": "r3d",
        "note": "",
        "geometry": {"resize": [64, 80], "crop": 56},
        "training": {
            "epochs": 300,
            "batch_size": 8,
            "lr": 1e-3,
            "seed": 0,
            "optim": {"momentum": 0.9, "betas": [0.9, 0.999]},
        },
        "data": {"root": "/data/ucf", "seed": 1, "labels": [], "scoring": "training", "tags": {}},
    }
    assert round_trip(config) == config
    assert round_trip(Pretrain(init="runs/a/model.safetensors")).init == "runs/a/model.safetensors"


def test_dumped_text_has_header_scalars_then_tables() -> None:
    settings = config_to_settings(Pretrain(data=Data(tags={"needs quoting": "x", "plain": "y"})))
    text = dumps_settings(settings, header="clipcop pretrain\nrun 3")
    lines = text.splitlines()
    assert lines[:4] == ["# clipcop pretrain", "# run 3", 'arch = "r3d"', 'note = ""']
    headers = [line for line in lines if line.startswith("[")]
    assert headers == ["[geometry]", "[training]", "[training.optim]", "[data]", "[data.tags]"]
    assert '"needs quoting" = "x"' in lines and 'plain = "y"' in lines
    assert "init" not in text


def test_dumps_refuses_what_toml_cannot_hold() -> None:
    with pytest.raises(TypeError, match=r"a\.b"):
        dumps_settings({"a": {"b": object()}})
    with pytest.raises(ValueError, match="surrogate"):
        dumps_settings({"a": "\ud800"})


def test_write_settings_is_atomic_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "run" / "config.toml"
    path.parent.mkdir()
    path.write_text("old = true\n")
    config = Pretrain(arch="r21d", training=Training(epochs=7))
    old_umask = os.umask(0o022)
    try:
        assert write_settings(path, config, header="clipcop pretrain") == path
    finally:
        os.umask(old_umask)
    assert read_config(Pretrain, path) == config
    assert path.read_text().startswith("# clipcop pretrain\n")
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_omitted_keys_keep_defaults_and_partial_tables_keep_the_parents_default() -> None:
    config = build("[training]\nbatch_size = 4\n[training.optim]\nbetas = [0.5, 0.6]\n")
    assert config == Pretrain(training=Training(batch_size=4, optim=Optim(betas=(0.5, 0.6))))
    finetune = settings_to_config(Finetune, {"checkpoint": "a", "training": {"lr": 0.1}}, source="f.toml")
    assert finetune.training == Training(epochs=50, lr=0.1)
    with pytest.raises(UsageError) as error:
        settings_to_config(Finetune, {}, source="f.toml")
    assert message_of(error) == "f.toml: missing key 'checkpoint'"


def test_an_int_is_accepted_for_a_float() -> None:
    lr = build("[training]\nlr = 1\n").training.lr
    assert lr == 1.0 and isinstance(lr, float)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("archh = 'r3d'", "config.toml: unknown key 'archh' (did you mean 'arch'? known at top level: arch, init, "
         "note, geometry, training, data)"),
        ("[training]\nepochz = 3", "config.toml: unknown key 'training.epochz' (did you mean 'epochs'? known in "
         "[training]: epochs, batch_size, lr, steps_per_epoch, seed, optim)"),
        ("[training.optim]\nzzz = 3", "config.toml: unknown key 'training.optim.zzz' (known in [training.optim]: "
         "momentum, betas)"),
    ],
)  # fmt: skip
def test_unknown_keys_are_named_with_the_file(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as error:
        build(text)
    assert message_of(error) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[training]\nepochs = "ten"', "training.epochs must be an integer, not 'ten'"),
        ("[training]\nepochs = true", "training.epochs must be an integer, not true"),
        ("[training]\nepochs = 10.0", "training.epochs must be an integer, not 10.0"),
        ("[training]\nsteps_per_epoch = 'all'", "training.steps_per_epoch must be an integer, not 'all'"),
        ('[training]\nlr = "fast"', "training.lr must be a number, not 'fast'"),
        ("[training]\nlr = false", "training.lr must be a number, not false"),
        ('arch = ["r3d"]', "arch must be a string, not ['r3d']"),
        ("init = 3", "init must be a string, not 3"),
        ("training = 5", "training must be a table, not 5"),
        ("[arch]\nname = 'r3d'", "arch must be a string, not {'name': 'r3d'}"),
        ("[geometry]\nresize = [128]", "geometry.resize must be a list of 2 integers, not [128]"),
        ("[geometry]\nresize = [128, 171, 3]", "geometry.resize must be a list of 2 integers, not [128, 171, 3]"),
        ("[geometry]\nresize = [128, 'a']", "geometry.resize must be a list of 2 integers, not [128, 'a']"),
        ("[geometry]\nresize = '128x171'", "geometry.resize must be a list of 2 integers, not '128x171'"),
        ("[training.optim]\nbetas = [0.9, 'x']", "training.optim.betas must be a list of numbers, not [0.9, 'x']"),
        ("[data]\nlabels = 'a'", "data.labels must be a list of strings, not 'a'"),
        ("[data]\nscoring = 'random'", "data.scoring must be 'training' or 'fixed', not 'random'"),
        ("[data]\nroot = 3", "data.root must be a path string, not 3"),
        ("[data.tags]\na = 1", "data.tags must be a table of strings, not {'a': 1}"),
    ],
)
def test_wrong_types_name_key_expected_type_and_value(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as error:
        build(text)
    assert message_of(error) == f"config.toml: {expected}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[training]\nepochs = 0", "config.toml: [training] epochs must be at least 1, not 0"),
        ("[training]\nbatch_size = 0", "config.toml: training.batch_size: must be at least 1, not 0"),
        ("[training]\nlr = -1.0", "config.toml: [training] the learning rate must be positive, not -1.0"),
        ("[geometry]\ncrop = 200", "config.toml: [geometry] crop 200 is larger than the resized frame 128x171"),
    ],
)
def test_refused_values_name_the_table_and_file(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as error:
        build(text)
    assert message_of(error) == expected


def test_overrides_win_over_the_file() -> None:
    text = "[training]\nepochs = 7\nseed = 3\n[geometry]\nresize = [64, 80]\ncrop = 56\n"
    assert build(text).training.epochs == 7
    assert build(text, **{"training.epochs": 5}).training == Training(epochs=5, seed=3)
    assert build(text, epochs=9, crop=60, resize=(96, 120)).geometry == Geometry(resize=(96, 120), crop=60)
    assert build(text, resize=[96, 120]).geometry.resize == (96, 120)
    assert build("init = 'a.safetensors'", init=None).init is None
    assert build("", **{"training.optim.momentum": 0.5}).training.optim.momentum == 0.5
    assert build("", geometry=Geometry(crop=100)).geometry.crop == 100


def test_overrides_leave_the_settings_alone() -> None:
    settings = {"training": {"epochs": 7}}
    settings_to_config(Pretrain, settings, source="config.toml", overrides={"epochs": 2, "momentum": 0.1})
    assert settings == {"training": {"epochs": 7}}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"seed": 1}, "command line: setting 'seed' is ambiguous (training.seed or data.seed); give the dotted key"),
        (
            {"epochz": 1},
            "command line: unknown setting 'epochz' (did you mean 'epochs'? known: arch, init, note, geometry, "
            "geometry.resize,",
        ),
        (
            {"training.epochz": 1},
            "command line: unknown setting 'training.epochz' (did you mean 'training.epochs'? known: arch,",
        ),
        ({"epochs": "five"}, "command line: --epochs must be an integer, not 'five'"),
        ({"batch_size": 2.5}, "command line: training.batch_size must be an integer, not 2.5"),
        ({"epochs": 0}, "command line: --epochs must be at least 1, not 0"),
        ({"batch_size": 0}, "command line: training.batch_size: must be at least 1, not 0"),
        ({"lr": -1.0}, "config.toml + command line: [training] the learning rate must be positive, not -1.0"),
        ({"arch": None}, "command line: arch must be a string, not None"),
    ],
)
def test_override_mistakes_name_the_command_line(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(UsageError) as error:
        build("[training]\nepochs = 7\n", **overrides)
    assert message_of(error).startswith(expected)


def test_file_mistake_under_an_override_names_the_file() -> None:
    with pytest.raises(UsageError) as error:
        build("training = 3", epochs=5)
    assert message_of(error) == "config.toml: training must be a table, not 3"


def test_read_settings_parses_toml(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("arch = 'r3d'\n[training]\nepochs = 5\n", encoding="utf-8")
    assert read_settings(path) == {"arch": "r3d", "training": {"epochs": 5}}
    assert read_config(Pretrain, path, overrides={"lr": 0.5}).training == Training(epochs=5, lr=0.5)


def test_read_settings_errors_are_one_line_naming_the_file(tmp_path: Path) -> None:
    def error_for(path: Path) -> str:
        with pytest.raises(UsageError) as error:
            read_settings(path)
        return message_of(error)

    assert error_for(tmp_path / "absent.toml") == f"{tmp_path / 'absent.toml'}: no such settings file"
    assert error_for(tmp_path) == f"{tmp_path}: is a folder, not a settings file"
    broken = tmp_path / "broken.toml"
    broken.write_text("arch = 'r3d'\nepochs = \n")
    assert error_for(broken) == f"{broken}: invalid TOML: Invalid value (at line 2, column 10)"
    twice = tmp_path / "twice.toml"
    twice.write_text("[training]\nepochs = 1\n[training]\n")
    assert error_for(twice).startswith(f"{twice}: invalid TOML: ")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"note = '\xe9'\n")
    assert error_for(latin) == f"{latin}: settings file is not UTF-8 text (byte 8)"
    huge = tmp_path / "huge.toml"
    huge.write_text("# padding\n" * (MAX_SETTINGS_BYTES // 10 + 1))
    assert error_for(huge) == f"{huge}: settings file is larger than 1 MiB"


def random_string(rng: random.Random) -> str:
    pool = ['"', "\\", "\n", "\r", "\t", "\x00", "\x7f", "#", "'", "=", "[", "]", "é", "日", "🎞", "\u2028", "a", " "]
    return "".join(rng.choice(pool) for _ in range(rng.randrange(12)))


def random_float(rng: random.Random) -> float:
    while True:
        value: float = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if not math.isnan(value):
            return value


def example_config(note: str, momentum: float, seed: int, labels: list[str], tags: dict[str, str]) -> Pretrain:
    return Pretrain(
        note=note,
        init=note or None,
        training=Training(seed=seed, optim=Optim(momentum=momentum, betas=(momentum, -momentum))),
        data=Data(labels=tuple(labels), tags=tags),
    )


def test_random_configs_round_trip() -> None:
    rng = random.Random(20240601)
    for _ in range(300):
        config = example_config(
            random_string(rng),
            random_float(rng),
            rng.randrange(-(2**63), 2**63),
            [random_string(rng) for _ in range(rng.randrange(3))],
            {random_string(rng): random_string(rng) for _ in range(rng.randrange(3))},
        )
        assert round_trip(config) == config


def test_round_trip_property() -> None:
    hypothesis = pytest.importorskip("hypothesis")
    st = pytest.importorskip("hypothesis.strategies")

    def check(note: str, momentum: float, seed: int, labels: list[str], tags: dict[str, str]) -> None:
        config = example_config(note, momentum, seed, labels, tags)
        assert round_trip(config) == config

    strategies = (
        st.text(),
        st.floats(allow_nan=False),
        st.integers(),
        st.lists(st.text(), max_size=4),
        st.dictionaries(st.text(), st.text(), max_size=4),
    )
    hypothesis.settings(max_examples=300, deadline=None)(hypothesis.given(*strategies)(check))()
