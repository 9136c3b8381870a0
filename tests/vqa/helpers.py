"""Small hand-made inputs for the video QA tests: feature files and ActivityNet-QA folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from clipcop.features.store import FeatureWriter


def write_features(
    path: Path,
    video_ids: list[str],
    *,
    clips: int = 20,
    dim: int = 8,
    failed: tuple[str, ...] = (),
    seed: int = 0,
    video_root: Path | None = None,
) -> Path:
    """A clipcop feature file with random features for ``video_ids`` (``failed`` ones marked undecodable)."""
    rng = np.random.default_rng(seed)
    meta: dict[str, Any] = {"video_ids": video_ids, "clips": clips}
    meta["source"] = {"kind": "random", "arch": "r3d", "seed": seed}
    if video_root is not None:
        meta["dataset"] = {"video_root": str(video_root)}
    writer = FeatureWriter(path, rows=len(video_ids) * clips, dim=dim, videos=len(video_ids), meta=meta)
    for number in range(len(video_ids)):
        feats = rng.normal(size=(clips, dim)).astype(np.float32)
        writer.write_rows(number * clips, feats, np.full(clips, number), np.arange(clips))
    writer.write_labels(np.full(len(video_ids), -1))
    return writer.finish({"failed": list(failed)})


def write_split(folder: Path, split: str, questions: Any, answers: Any) -> None:
    """``{split}_q.json`` and ``{split}_a.json`` (anything JSON-serialisable, or raw text when a str)."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, content in (("q", questions), ("a", answers)):
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / f"{split}_{suffix}.json").write_text(text)


def qa_pair(video: str, k: int, question: str, answer: str, qtype: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """One question entry and its answer entry, ids as in ActivityNet-QA (``v_<video>_<k>``)."""
    qid = f"v_{video}_{k}"
    return (
        {"video_name": video, "question": question, "question_id": qid},
        {"question_id": qid, "answer": answer, "type": qtype},
    )
