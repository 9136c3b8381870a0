"""torchrun: two CPU processes (gloo) train like one process on the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from clipcop.engine.checkpoint import load_checkpoint
from clipcop.features.store import read_features

ARGS = [
    "--width",
    "4",
    "--cl",
    "4",
    "--it",
    "2",
    "--resize",
    "24x32",
    "--crop",
    "16",
    "--batch-size",
    "4",
    "--workers",
    "0",
    "--optimizer",
    "sgd",
    "--lr",
    "0.05",
    "--dropout",
    "0",
    "--epochs",
    "2",
    "--steps-per-epoch",
    "3",
    "--val-size",
    "2",
    "--device",
    "cpu",
    "--seed",
    "5",
]


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _torchrun(*args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "clipcop",
        *args,
    ]


def test_two_processes_match_one_on_the_same_global_batch(tiny_synth: Path, tmp_path: Path) -> None:
    _run([sys.executable, "-m", "clipcop", "pretrain", "--data", str(tiny_synth), *ARGS, "--out", "one"], tmp_path)
    both = _run(_torchrun("pretrain", "--data", str(tiny_synth), *ARGS, "--out", "two"), tmp_path)
    assert both.stderr.count("epoch 2/2  train loss") == 1  # rank 0 alone reports
    one = load_checkpoint(tmp_path / "one" / "last.safetensors").tensors
    two = load_checkpoint(tmp_path / "two" / "last.safetensors").tensors
    assert one.keys() == two.keys()
    for key in one:
        assert torch.allclose(one[key].float(), two[key].float(), atol=2e-4, rtol=1e-3), key
    metrics = [json.loads((tmp_path / run / "metrics.jsonl").read_text().splitlines()[-1]) for run in ("one", "two")]
    assert abs(metrics[0]["train_loss"] - metrics[1]["train_loss"]) < 1e-4
    assert metrics[0]["val_loss"] - metrics[1]["val_loss"] < 1e-4 and metrics[0]["step"] == metrics[1]["step"] == 6


def test_sharded_extraction_writes_one_complete_feature_file(tiny_synth: Path, tmp_path: Path) -> None:
    common = [
        "extract",
        "--random",
        "--arch",
        "r3d",
        "--width",
        "4",
        "--cl",
        "4",
        "--resize",
        "24x32",
        "--crop",
        "16",
        "--data",
        str(tiny_synth),
        "--subset",
        "all",
        "--clips",
        "3",
        "--workers",
        "0",
        "--device",
        "cpu",
    ]
    _run([sys.executable, "-m", "clipcop", *common, "--out", "one.safetensors"], tmp_path)
    _run(_torchrun(*common, "--out", "two.safetensors"), tmp_path)
    one, two = read_features(tmp_path / "one.safetensors"), read_features(tmp_path / "two.safetensors")
    assert one.video_ids == two.video_ids and len(one.video_ids) == 32
    assert (one.video == two.video).all() and (one.labels == two.labels).all()
    assert np.allclose(np.asarray(one.features), np.asarray(two.features), atol=1e-5)
