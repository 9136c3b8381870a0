"""Every command's ``--json`` object against its documented schema, and every accuracy anywhere a fraction.

One module-scoped pipeline runs each command once on tiny data (R3D width 4, 4-frame clips, one short
epoch); the tests read what it printed and wrote.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer

from clipcop.cli.main import app, main
from clipcop.engine.checkpoint import read_meta
from clipcop.results import (
    RECORDS,
    SCHEMA_VERSION,
    DemoRecord,
    QueryRecord,
    Record,
    RetrieveRecord,
    records_for,
    to_json,
    validate,
)
from tests.cli.run import run_cli

MODEL = ["--width", 4, "--cl", 4, "--it", 2, "--resize", "24x32", "--crop", 16]
TRAIN = ["--batch-size", 4, "--workers", 0, "--optimizer", "adam", "--lr", 3e-3]


@dataclass
class Pipeline:
    """What the commands printed (command line -> object, with its record type) and where they wrote."""

    root: Path
    printed: list[tuple[str, type[Record], dict[str, Any]]] = field(default_factory=list)

    def run(self, record: type[Record], *args: object) -> dict[str, Any]:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main([str(a) for a in (*args, "--json")])
        assert code == 0, f"clipcop {' '.join(map(str, args))}\n{err.getvalue()[-3000:]}"
        lines = out.getvalue().splitlines()
        assert len(lines) == 1, out.getvalue()  # one object, one line
        printed: dict[str, Any] = json.loads(lines[0])
        self.printed.append((" ".join(str(a) for a in args[:2]), record, printed))
        return printed


def _record(command: str) -> type[Record]:
    (record,) = records_for(command)
    return record


@pytest.fixture(scope="module")
def pipeline(tiny_synth: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    root = tmp_path_factory.mktemp("json_schema")
    done = Pipeline(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLIPCOP_CACHE", str(root / "cache"))
        quiet = "--quiet"
        qa_data = root / "synth"
        synth = ["data", "synth", qa_data, "--classes", 3, "--videos-per-class", 4, "--frames", 30]
        done.run(_record("data synth"), *synth, "--size", "32x40", "--qa", "--workers", 1, quiet)
        done.run(_record("data index"), "data", "index", tiny_synth, "--cl", 4, "--it", 2, "--workers", 1, quiet)
        cache = ["data", "cache", tiny_synth, "--resize", "24x32", "--out", root / "frames", "--workers", 1]
        done.run(_record("data cache"), *cache, quiet)
        pretrained = done.run(
            _record("pretrain"),
            *[
                "pretrain",
                "--data",
                tiny_synth,
                *MODEL,
                *TRAIN,
                "--epochs",
                1,
                "--steps-per-epoch",
                2,
                "--out",
                root / "vcop",
                quiet,
            ],
        )
        checkpoint = pretrained["checkpoint"]
        task = ["curriculum", "task", "--tl-schedule", "2,3", "--stage-epochs", "1,1", "--steps-per-epoch", 2]
        done.run(_record("curriculum task"), *task, "--data", tiny_synth, *MODEL, *TRAIN, "--out", root / "cur", quiet)
        sample = ["curriculum", "sample", "--checkpoint", checkpoint, "--data", tiny_synth, *TRAIN]
        sample += ["--window", 1, "--threshold", 0.12, "--epochs", 1, "--steps-per-epoch", 2]
        done.run(_record("curriculum sample"), *sample, "--out", root / "hard", quiet)
        extract = ["extract", "--checkpoint", checkpoint, "--data", qa_data, "--clips", 20, "--workers", 0]
        features = done.run(_record("extract"), *extract, "--out", root / "qa.safetensors", quiet)["features"]
        source = ["--checkpoint", checkpoint, "--data", tiny_synth, "--clips", 2, "--workers", 0]
        written = ["--grid", root / "grid.png", "--neighbours", root / "n.csv", "--save-index", root / "g.faiss"]
        by_layer = done.run(RetrieveRecord, "retrieve", *source, "--k", "1,5", "--layer", "conv4,conv5", quiet)
        assert list(by_layer["layers"]) == ["conv4", "conv5"] and by_layer["accuracy"] == by_layer["layers"]["conv5"]
        done.run(RetrieveRecord, "retrieve", *source, "--k", "1,5", *written, quiet)
        query = next((tiny_synth / "UCF-101" / "Rotate").iterdir())
        done.run(QueryRecord, "retrieve", *source, "--query", query, "--k", 3, quiet)
        finetune = ["finetune", *source[:4], *TRAIN, "--epochs", 1, "--steps-per-epoch", 2, "--test-clips", 2]
        done.run(_record("finetune"), *finetune, "--out", root / "ft", quiet)
        done.run(_record("info"), "info", checkpoint)
        done.run(_record("report"), "report", root / "vcop")
        vqa = ["--features", features, "--qa", qa_data / "qa"]
        small = ["--hidden", 16, "--embed-dim", 8, "--epochs", 1, "--batch-size", 32]
        trained = done.run(
            _record("vqa train"), "vqa", "train", *vqa, *small, "--val-split", "test", "--out", root / "vqa", quiet
        )
        evaluate = ["vqa", "eval", "--checkpoint", trained["checkpoint"], *vqa, "--predictions", root / "p.json"]
        done.run(_record("vqa eval"), *evaluate, quiet)
        yield done


def _leaf_commands() -> list[str]:
    paths: list[str] = []

    def walk(prefix: str, command: Any) -> None:
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(f"{prefix} {name}".strip(), sub)
        if not getattr(command, "commands", None):
            paths.append(prefix)

    walk("", typer.main.get_command(app))
    return paths


def test_every_command_has_a_documented_record() -> None:
    commands = _leaf_commands()
    assert sorted({r.COMMAND for r in RECORDS}) == sorted(commands)
    reference = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    for record in RECORDS:  # each record's keys are in the reference, under its command
        section = reference.split(f"## `clipcop {record.COMMAND}`", 1)[1].split("\n## ", 1)[0]
        assert "`--json` result" in section, record.COMMAND


def test_every_command_prints_an_object_matching_its_schema(pipeline: Pipeline) -> None:
    seen = {record for _, record, _ in pipeline.printed}
    assert seen == set(RECORDS) - {DemoRecord}  # every command ran, retrieve in both forms
    # demo --quick --json is validated by tests/workflows/test_demo.py, which runs it anyway
    for line, record, printed in pipeline.printed:
        assert list(printed)[:3] == ["command", "schema_version", "clipcop_version"], line
        assert printed["schema_version"] == SCHEMA_VERSION
        assert validate(printed, record) == [], line
    by_command = {record.COMMAND + record.TITLE: printed for _, record, printed in pipeline.printed}
    assert {"grid", "index", "neighbours_csv"} <= set(by_command["retrievewithout --query"])  # written: named
    assert "qa_dir" in by_command["data synth"] and "test_order_accuracy" in by_command["curriculum sample"]


def test_validate_names_what_is_wrong() -> None:
    from clipcop.results import ReportRecord

    good = to_json(ReportRecord(page="p/index.html", pictures=["a.png"], count=1))
    assert validate(good, ReportRecord) == []
    bad = {**good, "count": "1", "extra": 0, "command": "info"}
    del bad["page"]
    problems = validate(bad, ReportRecord)
    assert any(p.startswith("page: missing") for p in problems) and any(p.startswith("extra:") for p in problems)
    assert any(p.startswith("count:") for p in problems) and any(p.startswith("command:") for p in problems)
    retrieved = to_json(RetrieveRecord(accuracy={"clip": {"1": 36.88}}, approximate=False, queries={}, gallery={}))
    assert validate(retrieved, RetrieveRecord) == ["accuracy.clip.1: 36.88 is an accuracy outside [0, 1]"]
    assert "grid" not in retrieved  # absent when not written


def test_plain_output_shows_the_same_result_as_lines(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --json: the record's numbers and strings as ``key: value`` lines, retrieval's accuracies dotted."""
    monkeypatch.setenv("CLIPCOP_CACHE", str(pipeline.root / "cache"))
    features = pipeline.root / "qa.safetensors"
    result = run_cli(capsys, "retrieve", "--gallery", features, "--queries", features, "--k", "1,5", "-q")
    assert result.code == 0, result.err
    lines = dict(line.split(": ", 1) for line in result.out.splitlines())
    assert set(lines) == {"accuracy.clip.1", "accuracy.clip.5", "accuracy.video.1", "accuracy.video.5", "approximate"}
    assert all(0 <= float(lines[k]) <= 1 for k in lines if k.startswith("accuracy."))


# --- every accuracy anywhere is a fraction --------------------------------------------------------------


def _accuracy_like(key: str) -> bool:
    return "acc" in key.lower() or key == "per_class"


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in ("questions", "videos", "correct", "count"):  # counts beside accuracies
                yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield float(value)


def _accuracies(value: Any, where: str) -> Iterator[tuple[str, float]]:
    """Every number under a key that names an accuracy (``*acc*``, ``per_class``), with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            if _accuracy_like(str(key)):
                yield from ((f"{where}.{key}", n) for n in _numbers(item))
            else:
                yield from _accuracies(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _accuracies(item, f"{where}[{i}]")


def _outputs(pipeline: Pipeline) -> Iterator[tuple[str, Any]]:
    """Everything the pipeline printed or wrote that can hold an accuracy, as JSON-like values."""
    for line, _, printed in pipeline.printed:
        yield f"stdout of {line}", printed
    for path in sorted(pipeline.root.rglob("*")):
        if path.suffix == ".jsonl":
            for number, text in enumerate(path.read_text().splitlines(), start=1):
                yield f"{path}:{number}", json.loads(text)
        elif path.suffix == ".json":
            yield str(path), json.loads(path.read_text())
        elif path.suffix == ".csv":
            with open(path, newline="") as handle:
                rows = list(csv.DictReader(handle))
            yield str(path), [{k: _number(v) for k, v in row.items()} for row in rows]
        elif path.name in ("best.safetensors", "last.safetensors"):
            yield str(path), read_meta(path)


def _number(text: str | None) -> Any:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return text


def test_every_accuracy_printed_or_written_is_a_fraction(pipeline: Pipeline) -> None:
    found: dict[str, int] = {}
    for where, value in _outputs(pipeline):
        for name, number in _accuracies(value, ""):
            assert math.isnan(number) or 0.0 <= number <= 1.0, f"{where}: {name} = {number}"
            found[where] = found.get(where, 0) + 1
    kinds = {Path(w.split(":")[0]).name if not w.startswith("stdout") else w for w in found}
    assert {"metrics.jsonl", "test_order_accuracy.csv", "test_order_accuracy.json", "test_accuracy.json"} <= kinds
    assert {"summary.json", "results.json", "best.safetensors"} <= kinds
    printed = {w for w in found if w.startswith("stdout")}
    assert len(printed) >= 8, printed  # every command that reports an accuracy was looked at
