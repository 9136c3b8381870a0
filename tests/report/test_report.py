"""``clipcop report``: pictures fit for a talk, referenced by a self-contained HTML page in the paper's order."""

from __future__ import annotations

import base64
import csv
import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from clipcop.errors import UsageError
from clipcop.report import figures
from clipcop.report.build import build_report
from clipcop.report.figures import DPI, SIZE_INCHES, Output
from tests.cli.run import one_error_line, run_cli


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def embedded(page: str) -> dict[str, bytes]:
    """Every picture the page carries, by file name."""
    found = re.findall(r'<img src="data:image/[a-z+]+;base64,([^"]+)" alt="([^"]+)"', page)
    return {name: base64.b64decode(data) for data, name in found}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, tiny_synth: Path) -> Path:
    """A quick demo folder, plus a saved ``retrieve --layer conv4,conv5 --json`` record (Table IV)."""
    import os

    from clipcop.cli.main import main

    root = tmp_path_factory.mktemp("report")
    old = Path.cwd()
    os.chdir(root)
    try:
        assert main(["demo", "--quick", "--out", "d", "--quiet"]) == 0
        layers = ["--checkpoint", "d/pretrain/best.safetensors", "--data", str(tiny_synth), "--workers", "0"]
        with open(root / "d" / "layers-vcop.json", "w") as handle:
            from contextlib import redirect_stdout

            with redirect_stdout(handle):
                code = main(["retrieve", *layers, "--clips", "2", "--layer", "conv4,conv5", "--json", "--quiet"])
        assert code == 0
    finally:
        os.chdir(old)
    return root / "d"


def test_report_of_a_demo_run(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (demo / "retrieval-samples-vcop.png").is_file()
    result = run_cli(capsys, "report", demo)
    assert result.code == 0, result.err
    report = demo / "report"
    pictures = sorted(report.glob("*.png"))
    names = {p.name for p in pictures}
    expected = {"curves-pretrain.png", "order-per-class-pretrain.png", "topk-run.png", "finetune-run.png"}
    expected |= {"action-per-class.png", "confusion-finetune-vcop.png", "confusion-finetune-random.png", "layers.png"}
    assert expected <= names
    page = (report / "index.html").read_text()
    carried = embedded(page)
    for picture in pictures:
        width, height = png_size(picture.read_bytes())
        assert width >= int(SIZE_INCHES[0] * DPI) and height >= int(SIZE_INCHES[1] * DPI), picture.name
        assert carried[picture.name] == picture.read_bytes()
    assert "retrieval-samples-vcop.png" in carried and "video retrieval top-1" in page
    # Every picture captioned and numbered; the parts in the paper's order; where the page came from.
    assert page.count("<figure>") == page.count("<figcaption>") == len(carried)
    assert [int(n) for n in re.findall(r"<b>Figure (\d+)\.</b>", page)] == list(range(1, len(carried) + 1))
    parts = [page.index(f"<h2>{title}") for title in ("Pretraining", "Nearest-neighbour retrieval", "Fine-tuning")]
    assert parts == sorted(parts) and page.index("Provenance") < parts[0]
    assert f"clipcop report {demo}" in page and "--config" in page and "<details>" in page
    # VCOP and random side by side in one class order, the numbers beside the picture.
    with open(report / "action-per-class.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["class", "finetune-vcop", "finetune-random"]
    assert len(rows) == 1 + 5 and "chance (20.0%)" in page
    vcop = [float(r[1]) for r in rows[1:]]
    assert vcop == sorted(vcop, reverse=True)  # best first by the first series
    assert "layers-vcop.json" in page and "conv4" in page


def test_report_formats_and_dpi(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "report", demo, "--format", "svg", "--json")
    assert result.code == 0, result.err
    listed = json.loads(result.out)["pictures"]
    assert listed and all(p.endswith(".svg") for p in listed)
    page = (demo / "report" / "index.html").read_text()
    assert "data:image/svg+xml;base64," in page and "--format svg" in page
    assert b"<svg" in embedded(page)["layers.svg"]
    result = run_cli(capsys, "report", demo, "--format", "pdf", "--dpi", "50", "--json")
    assert result.code == 0, result.err
    for name in json.loads(result.out)["pictures"]:
        pdf = Path(name)
        assert pdf.read_bytes()[:5] == b"%PDF-"
        preview = pdf.with_suffix(".png").read_bytes()  # what the page shows for a PDF
        assert png_size(preview)[0] == int(SIZE_INCHES[0] * 50)
    assert '<a href="layers.pdf">' in (demo / "report" / "index.html").read_text()
    assert "'gif' is not one of 'png', 'svg', 'pdf'" in one_error_line(
        run_cli(capsys, "report", demo, "--format", "gif")
    )
    with pytest.raises(UsageError, match="unknown picture format 'gif'"):  # the library checks it too
        build_report(demo, fmt="gif")


def test_per_class_bars_grow_with_101_classes(tmp_path: Path) -> None:
    """UCF101's 101 classes: every class gets a row of its own (the figure grows), both series in one order."""
    rng = np.random.default_rng(0)
    classes = [f"Class{i:03d}WithALongName" for i in range(101)]
    series = {name: dict(zip(classes, rng.random(101).tolist(), strict=True)) for name in ("VCOP", "random")}
    picture = figures.per_class_bars(series, 1 / 101, "101 classes", Output(tmp_path), "bars")
    width, height = png_size(picture.read_bytes())
    assert width == int(SIZE_INCHES[0] * DPI) and height >= 101 * 2 * figures.ROW_INCHES * DPI
    rows = (tmp_path / "bars.csv").read_text().splitlines()
    assert len(rows) == 102 and rows[0] == "class,VCOP,random"
    assert float(rows[1].split(",")[1]) == pytest.approx(max(series["VCOP"].values()), abs=1e-4)


def test_curves_show_a_single_epoch_and_keep_extremes_inside_the_frame(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    saved: list[object] = []
    original = figures._save

    def keep(fig: object, out: Output, stem: str) -> Path:
        saved.append(fig)
        return original(fig, out, stem)

    history = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.1, "train_acc": 1.0, "val_acc": 0.0}]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "_save", keep)
        patch.setattr(plt, "close", lambda fig: None)
        figures.training_curves(history, "one epoch", Output(tmp_path), "one")
    (fig,) = saved
    loss, accuracy = fig.axes[:2]  # type: ignore[attr-defined]
    assert [len(line.get_xdata()) for line in loss.lines] == [1, 1]
    assert all(line.get_marker() not in (None, "", "None") for line in loss.lines + accuracy.lines)
    low, high = loss.get_xlim()
    assert low < 1 < high
    bottom, top = accuracy.get_ylim()
    assert bottom < 0 and top > 100  # 0% and 100% are drawn inside the frame
    assert fig.legends and not loss.get_legend()  # type: ignore[attr-defined]  # outside the axes


def test_report_errors(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "does not exist" in one_error_line(run_cli(capsys, "report", "missing"))
    (workdir / "empty").mkdir()
    assert "no clipcop run files" in one_error_line(run_cli(capsys, "report", "empty"))
    assert list((workdir / "empty").iterdir()) == []  # no report/ folder left in a folder that is not a run
    (workdir / "empty" / "metrics.jsonl").write_text('{"mine": 1}\n[1, 2]\n')  # somebody else's file
    assert "no clipcop run files" in one_error_line(run_cli(capsys, "report", "empty"))
    assert "--dpi must be between" in one_error_line(run_cli(capsys, "report", "empty", "--dpi", "5"))
