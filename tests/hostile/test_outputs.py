"""Hostile inputs, class 5: an output path that is an input, another output, or somebody's file.

Every case ends in one ``clipcop: error:`` line and exit code 2 before any work, and every file already
there is unchanged; a file clipcop wrote before is replaced as it always was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from clipcop.errors import UsageError
from clipcop.outputs import Output, check_outputs, is_clipcop_png, starts_with
from tests.cli.run import one_error_line, run_cli
from tests.vqa.helpers import write_features

IDS = [f"v{n}" for n in range(6)]


@pytest.fixture
def files(workdir: Path) -> dict[str, Path]:
    """Two feature files, a checkpoint-shaped file, a QA folder, and somebody's notes and photo."""
    made = {
        "gallery": write_features(workdir / "gallery.safetensors", IDS, clips=2, dim=4, seed=1),
        "queries": write_features(workdir / "queries.safetensors", IDS, clips=2, dim=4, seed=2),
        "checkpoint": workdir / "model.safetensors",
        "notes": workdir / "notes.txt",
        "photo": workdir / "photo.png",
        "qa": workdir / "qa",
    }
    save_file({"w": torch.zeros(1)}, str(made["checkpoint"]), metadata={"clipcop": json.dumps({"kind": "vqa"})})
    made["notes"].write_text("my thesis\n")
    made["photo"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    made["qa"].mkdir()
    (made["qa"] / "test_q.json").write_text(json.dumps([{"video_name": "v0", "question": "q", "question_id": "1"}]))
    (made["qa"] / "test_a.json").write_text(json.dumps([{"question_id": "1", "answer": "a", "type": 0}]))
    return made


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


RETRIEVE = ("retrieve", "--gallery", "gallery.safetensors", "--queries", "queries.safetensors")

CASES = [
    (
        (*RETRIEVE, "--save-index", "gallery.safetensors"),
        "--save-index gallery.safetensors is the file --gallery reads",
    ),
    ((*RETRIEVE, "--save-index", "notes.txt"), "--save-index notes.txt exists and is not a clipcop FAISS index"),
    ((*RETRIEVE, "--neighbours", "queries.safetensors"), "--neighbours queries.safetensors is the file --queries"),
    ((*RETRIEVE, "--neighbours", "notes.txt"), "--neighbours notes.txt exists and is not a clipcop neighbours CSV"),
    ((*RETRIEVE, "--grid", "photo.png"), "--grid photo.png exists and is not a picture clipcop drew"),
    ((*RETRIEVE, "--grid", "n.png", "--neighbours", "n.png"), "--grid and --neighbours both name n.png"),
    ((*RETRIEVE, "--save-index", "x.faiss", "--neighbours", "x.faiss.json"), "both name x.faiss.json"),
    (
        ("retrieve", "--checkpoint", "model.safetensors", "--data", "qa", "--save-index", "model.safetensors"),
        "--save-index model.safetensors is the file --checkpoint reads",
    ),
    (
        (
            "vqa",
            "eval",
            "--checkpoint",
            "model.safetensors",
            "--features",
            "gallery.safetensors",
            "--qa",
            "qa",
            "--predictions",
            "gallery.safetensors",
        ),
        "--predictions gallery.safetensors is the file --features reads",
    ),
    (
        (
            "vqa",
            "eval",
            "--checkpoint",
            "model.safetensors",
            "--features",
            "gallery.safetensors",
            "--qa",
            "qa",
            "--predictions",
            "qa/test_a.json",
        ),
        "--predictions qa/test_a.json is the file --qa (answers) reads",
    ),
    (
        (
            "vqa",
            "eval",
            "--checkpoint",
            "model.safetensors",
            "--features",
            "gallery.safetensors",
            "--qa",
            "qa",
            "--predictions",
            "notes.txt",
        ),
        "--predictions notes.txt exists and is not a clipcop predictions file",
    ),
    (
        ("extract", "--checkpoint", "model.safetensors", "--data", "qa", "--out", "model.safetensors"),
        "--out model.safetensors is the file --checkpoint reads",
    ),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a[5:] or a[:3]) for a, _ in CASES])
def test_outputs_that_would_destroy_a_file_are_refused(
    files: dict[str, Path], workdir: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    before = _snapshot(workdir)
    result = run_cli(capsys, *args)
    line = one_error_line(result)
    assert result.code == 2 and message in line, line
    assert _snapshot(workdir) == before  # nothing written, nothing replaced


def test_a_hard_link_to_an_input_is_the_input(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    os.link(files["gallery"], files["gallery"].with_name("alias.faiss"))
    before = files["gallery"].read_bytes()
    line = one_error_line(run_cli(capsys, *RETRIEVE, "--save-index", "alias.faiss"))
    assert "--save-index alias.faiss is the file --gallery reads" in line
    assert files["gallery"].read_bytes() == before


def test_files_clipcop_wrote_are_replaced_as_before(
    files: dict[str, Path], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = ("--save-index", "g.faiss", "--neighbours", "n.csv", "--grid", "grid.png")
    for _ in range(2):  # the second run replaces the first run's files
        result = run_cli(capsys, *RETRIEVE, *outputs)
        assert result.code == 0, result.err
    assert is_clipcop_png(workdir / "grid.png") and (workdir / "g.faiss.json").is_file()
    assert (workdir / "n.csv").read_text().startswith("level,query,")


def test_report_never_replaces_a_page_it_did_not_write(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = workdir / "run"
    (run / "report").mkdir(parents=True)
    (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "train_loss": 1.0}) + "\n")
    page = run / "report" / "index.html"
    page.write_text("<html>my own page</html>")
    line = one_error_line(run_cli(capsys, "report", run))
    assert "index.html exists and is not a clipcop report page" in line
    assert page.read_text() == "<html>my own page</html>"
    page.unlink()
    assert run_cli(capsys, "report", run).code == 0
    assert run_cli(capsys, "report", run).code == 0  # its own page and pictures: replaced


def test_the_guard_itself(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    csv_header = starts_with("a,b")
    with pytest.raises(UsageError, match="is a folder"):
        check_outputs([Output("--out", tmp_path, "a file")], {})
    with pytest.raises(UsageError, match="exists and is not a CSV"):
        check_outputs([Output("--out", notes, "a CSV", csv_header)], {})
    notes.write_text("a,b\n1,2\n")
    check_outputs([Output("--out", notes, "a CSV", csv_header)], {"--in": None})  # ours: fine
    with pytest.raises(UsageError, match="is the file --in reads"):
        check_outputs([Output("--out", tmp_path / "." / "notes.txt", "a CSV", csv_header)], {"--in": notes})
    check_outputs([Output("--out", tmp_path / "new" / "deeper" / "x.csv", "a CSV")], {})  # folders made later
    assert not is_clipcop_png(notes)
