"""``clipcop demo``: the README's first command, at CI size and at full size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clipcop.engine.checkpoint import read_meta
from clipcop.results import DemoRecord, validate
from tests.cli.run import run_cli


def test_demo_quick_runs_the_whole_pipeline(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "demo", "--quick", "--width", 6, "--json")
    assert result.code == 0, result.err
    models = sorted((workdir / "runs" / "demo").rglob("best.safetensors"))
    assert len(models) == 3 and {read_meta(m)["width"] for m in models} == {6}  # --width holds with --quick
    summary = json.loads(result.out)
    assert validate(summary, DemoRecord) == []  # the documented schema, accuracies as fractions
    assert 0.0 <= summary["order_accuracy"] <= 1.0 and summary["chance"] == pytest.approx(1 / 6)
    assert set(summary["retrieval"]) == {"VCOP", "random"}
    assert set(summary["retrieval"]["VCOP"]) == {"1", "5", "10"}
    assert "the paper in miniature" in result.err
    written = json.loads((workdir / "runs" / "demo" / "summary.json").read_text())
    assert Path(summary["summary"]) == Path("runs") / "demo" / "summary.json"
    assert written == {k: v for k, v in summary.items() if k in written}  # the same numbers as printed


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 3 minutes on two idle cores; a loaded machine takes several times that
def test_full_demo_shows_the_papers_relations(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's demo, as a user runs it: VCOP learns the order task and its features retrieve better.

    On our 2-core machine seed 0 reached 90.8% order accuracy (chance 16.7%) and video top-1/top-5
    retrieval of 50.0%/80.8% against 25.0%/55.0% for the random initialisation. Top-10 (89.2% vs 75.8%)
    is left out: its margin is the smallest and another CI machine's numerics once closed it at an
    earlier, weaker setting. The bounds leave room for other CPUs.
    """
    result = run_cli(capsys, "demo", "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["order_accuracy"] > 0.5
    vcop, random = summary["retrieval"]["VCOP"], summary["retrieval"]["random"]
    assert vcop["1"] > random["1"] and vcop["5"] > random["5"]
