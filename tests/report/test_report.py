"""``clipcop report``: valid PNGs of the documented size, referenced by a self-contained HTML page."""

from __future__ import annotations

import base64
import re
import struct
from pathlib import Path

import pytest

from clipcop.report.figures import DPI, SIZE_INCHES
from tests.cli.run import one_error_line, run_cli


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_of_a_demo_run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = run_cli(capsys, "demo", "--quick", "--out", "d")
    assert demo.code == 0, demo.err
    assert (workdir / "d" / "retrieval-samples-vcop.png").is_file()
    result = run_cli(capsys, "report", "d")
    assert result.code == 0, result.err
    report = workdir / "d" / "report"
    pictures = sorted(report.glob("*.png"))
    names = {p.name for p in pictures}
    assert {"curves-pretrain.png", "order-per-class-pretrain.png", "topk-run.png", "finetune-run.png"} <= names
    page = (report / "index.html").read_text()
    expected = (int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI))
    embedded = dict(
        re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', page)[i][::-1]
        for i in range(page.count("<img"))
    )
    for picture in pictures:
        assert png_size(picture.read_bytes()) == expected, picture.name
        assert base64.b64decode(embedded[picture.name]) == picture.read_bytes()
    assert "retrieval-samples-vcop.png" in embedded and "video retrieval top-1" in page


def test_report_errors(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "does not exist" in one_error_line(run_cli(capsys, "report", "missing"))
    (workdir / "empty").mkdir()
    assert "no clipcop run files" in one_error_line(run_cli(capsys, "report", "empty"))
    assert list((workdir / "empty").iterdir()) == []  # no report/ folder left in a folder that is not a run
    (workdir / "empty" / "metrics.jsonl").write_text('{"mine": 1}\n[1, 2]\n')  # somebody else's file
    assert "no clipcop run files" in one_error_line(run_cli(capsys, "report", "empty"))
