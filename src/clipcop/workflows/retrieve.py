"""``clipcop retrieve``: nearest-neighbour retrieval with FAISS (Sec. IV-B, Tables II-IV, Figs. 6-9).

Test-split queries search a train-split gallery by cosine similarity; top-k accuracy at clip level (every
clip a query, the paper's tables) and at video level (the mean of a video's clip features, Fig. 7).
Features come from feature files (``gallery``/``queries``, possibly of different datasets), or are
extracted on the fly from a checkpoint and a dataset (cached). ``layer="all"`` or a comma list searches
several taps, extracted in one pass (Table IV), with top-k per tap in ``RetrievalResult.layers``.

>>> from clipcop.workflows.retrieve import retrieve  # doctest: +SKIP
>>> r = retrieve(source=ModelSource(checkpoint="best.safetensors"), data="~/data/UCF101")  # doctest: +SKIP
>>> r.accuracy["video"][5]  # doctest: +SKIP
>>> retrieve(source=..., data="~/data/UCF101", layer="all").layers["conv3"]["clip"][1]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
from rich.table import Table

from clipcop.backbones.base import TAPS
from clipcop.config import LEVELS, POOL5_CHOICES, QUERY_SPLITS, DataSpec, FlatOptions, from_flat
from clipcop.engine.card import CheckpointCard
from clipcop.engine.distributed import is_main
from clipcop.engine.reporting import Reporter
from clipcop.errors import FeatureFileError, UsageError
from clipcop.features.store import FeatureFile, read_features
from clipcop.index.faiss_index import IndexSpec, build_index, index_outputs, l2_normalize, save_index, search
from clipcop.metrics.retrieval import DEFAULT_KS, topk_accuracy
from clipcop.outputs import Output, check_outputs, is_clipcop_figure, starts_with
from clipcop.results import RetrieveRecord
from clipcop.workflows.extract import ExtractConfig, ModelSource, extract_layers
from clipcop.workflows.neighbours import COLUMNS, Side, neighbour_rows, render_neighbours, write_neighbours_csv

Level = Literal["clip", "video"]
SHOWN_QUERIES, SHOWN_TOP = 10, 5
"""Without scores, the terminal lists this many queries with this many neighbours each."""


def parse_layers(text: str) -> tuple[str, ...]:
    """``"all"`` -> every tap; ``"conv5,conv3"`` -> ``("conv3", "conv5")`` (shallow to deep, once each)."""
    names = TAPS if text.strip() == "all" else tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in TAPS]
    if unknown or not names:
        shown = repr(unknown[0]) if unknown else repr(text)
        raise UsageError(f"unknown layer {shown}; choose from {', '.join(TAPS)}, a comma list of them, or all")
    return tuple(tap for tap in TAPS if tap in names)


def parse_ks(text: str) -> tuple[int, ...]:
    """``"1,5,10"`` -> ``(1, 5, 10)``."""
    try:
        ks = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise UsageError(f"--k takes comma-separated whole numbers, e.g. 1,5,10,20,50 (got {text!r})") from None
    if not ks or ks[0] < 1:
        raise UsageError(f"--k values must be at least 1 (got {text!r})")
    return ks


@dataclass(frozen=True)
class Vectors:
    """Search vectors at one level: unit rows, their class, and which video each row belongs to."""

    x: np.ndarray
    labels: np.ndarray
    video: np.ndarray
    clip_row: np.ndarray
    """Each row's clip row in the feature file (clip level), or -1 (video level)."""


def level_vectors(features: FeatureFile, level: Level) -> Vectors:
    """Clip rows, or per-video means of clip rows (Sec. IV-B: the average of the 10 clip features)."""
    valid = features.valid_videos()
    n_videos = len(valid)
    clips = int(features.meta.get("clips", 1))
    if level == "clip":
        keep = valid[features.video]
        x = np.asarray(features.features[keep], dtype=np.float32)
        video = features.video[keep]
        return Vectors(l2_normalize(x), features.labels[video], video, np.flatnonzero(keep))
    means = np.asarray(features.features, dtype=np.float32).reshape(n_videos, clips, -1).mean(axis=1)
    keep_idx = np.flatnonzero(valid)
    no_clip = np.full(len(keep_idx), -1)
    return Vectors(l2_normalize(means[keep_idx]), np.asarray(features.labels)[keep_idx], keep_idx, no_clip)


def _no_data() -> DataSpec:
    return DataSpec(folder=None)


MODEL_WITH_DATA = "a model (--checkpoint, --random or --weights) with --data"
"""The other way to give retrieval its features, named in its errors."""


@dataclass(frozen=True, kw_only=True)
class RetrieveConfig(FlatOptions):
    """Every option of ``clipcop retrieve``: a model and videos (:class:`DataSpec`; no folder by default:
    feature files need none), or a gallery and query files; what to search and how to score it."""

    source: ModelSource | None = None
    data: DataSpec = field(default_factory=_no_data)
    query_split: str = "test"
    gallery: str | None = None
    queries: str | None = None
    query: str | None = None
    level: str = "both"
    ks: tuple[int, ...] = DEFAULT_KS
    layer: str = "conv5"
    pool: str = "spatiotemporal"
    pool5: str | None = None
    """``adaptive`` or ``strided`` (the official layer) pooling of conv5; default: the model's own choice."""
    clips: int = 10
    index: IndexSpec = field(default_factory=IndexSpec)
    save_index: str | None = None
    neighbours_csv: str | None = None
    """A CSV file for every query's nearest gallery items (largest k), at each level searched."""
    batch_size: int = 8
    device: str = "auto"
    precision: str = "auto"

    @property
    def layers(self) -> tuple[str, ...]:
        """The taps searched (``layer`` may be ``all`` or a comma list: Table IV)."""
        return parse_layers(self.layer)

    def __post_init__(self) -> None:
        if len(self.layers) > 1:
            self._check_several_layers()
        if self.neighbours_csv is not None and Path(self.neighbours_csv).is_dir():
            raise UsageError(f"--neighbours {self.neighbours_csv} is a folder: name a .csv file to write")
        if self.level not in LEVELS:
            raise UsageError(f"unknown --level {self.level!r}; choose clip, video or both")
        if self.pool5 is not None and self.pool5 not in POOL5_CHOICES:
            raise UsageError(f"--pool5 must be one of {', '.join(POOL5_CHOICES)}, not {self.pool5!r}")
        if self.query_split not in QUERY_SPLITS:
            raise UsageError("--query-split must be test (gallery: train) or train (gallery: test)")
        if self.query is not None:  # one video against a gallery file, or one extracted with the model
            if self.gallery is None and self.source is None:
                raise UsageError(f"--query needs a gallery: --gallery F, or {MODEL_WITH_DATA}")
            return
        from_files = self.gallery is not None or self.queries is not None
        if from_files and (self.gallery is None or self.queries is None):
            raise UsageError("--gallery and --queries go together")
        if from_files == (self.source is not None):
            raise UsageError(f"give either --gallery F --queries F, or {MODEL_WITH_DATA}")

    def _check_several_layers(self) -> None:
        """Several taps compare accuracies; what is written per search (neighbours, an index) or needs one
        file per side (feature files, one video) takes one tap."""
        given = [flag for flag, value in self._one_layer_options().items() if value is not None]
        if given:
            raise UsageError(f"{given[0]} works with one --layer at a time (not {self.layer})")

    def _one_layer_options(self) -> dict[str, object]:
        return {
            "--neighbours": self.neighbours_csv,
            "--save-index": self.save_index,
            "--query": self.query,
            "--gallery": self.gallery,
            "--queries": self.queries,
        }


@dataclass
class RetrievalResult:
    """Top-k accuracy per level (``{"clip": {1: 0.14, ...}, "video": {...}}``) and what was searched."""

    accuracy: dict[str, dict[int, float]]
    queries: dict[str, int]
    gallery: dict[str, int]
    approximate: bool
    gallery_file: Path
    query_file: Path
    neighbours: dict[str, np.ndarray] = field(default_factory=dict)
    similarities: dict[str, np.ndarray] = field(default_factory=dict)
    neighbours_file: Path | None = None
    layers: dict[str, dict[str, dict[int, float]]] = field(default_factory=dict)
    """Top-k accuracy per tap, level and k, when several taps were searched (Table IV); the other fields
    then describe the deepest tap's search."""

    def record(self, *, grid: str | Path | None = None, index: str | Path | None = None) -> RetrieveRecord:
        """What ``clipcop retrieve`` prints (:mod:`clipcop.results`); ``grid`` and ``index``: the picture and
        the FAISS index when they were written."""
        return RetrieveRecord(
            accuracy={level: {str(k): v for k, v in acc.items()} for level, acc in self.accuracy.items()},
            approximate=self.approximate,
            queries=dict(self.queries),
            gallery=dict(self.gallery),
            neighbours_csv=None if self.neighbours_file is None else str(self.neighbours_file),
            grid=None if grid is None else str(grid),
            index=None if index is None else str(index),
            layers={
                layer: {level: {str(k): v for k, v in acc.items()} for level, acc in levels.items()}
                for layer, levels in self.layers.items()
            }
            or None,
        )


def check_retrieve_outputs(config: RetrieveConfig, grid: str | Path | None = None) -> None:
    """Before any work: ``--save-index``, ``--neighbours`` and ``--grid`` are new files or clipcop's own of
    their kind, none of them an input (:func:`clipcop.outputs.check_outputs`)."""
    outputs = index_outputs(config.save_index) if config.save_index else []
    if config.neighbours_csv:
        csv_header = starts_with(",".join(COLUMNS))
        outputs.append(Output("--neighbours", Path(config.neighbours_csv), "a clipcop neighbours CSV", csv_header))
    if grid is not None:
        if len(config.layers) > 1:
            raise UsageError(f"--grid shows one layer's neighbours: give one --layer (not {config.layer})")
        outputs.append(Output("--grid", Path(grid), "a picture clipcop drew", is_clipcop_figure))
    inputs = {
        "--checkpoint": None if config.source is None else config.source.checkpoint,
        "--weights": None if config.source is None else config.source.weights_file(),
        "--gallery": config.gallery,
        "--queries": config.queries,
        "--query": config.query,
    }
    check_outputs(outputs, inputs)


def _features_for(config: RetrieveConfig, reporter: Reporter) -> dict[str, tuple[FeatureFile, FeatureFile]]:
    """Gallery and query features per tap: the files given, or extracted (every tap in one pass per side)."""
    if config.gallery is not None and config.queries is not None:
        return {
            config.layer: (read_features(config.gallery).check_finite(), read_features(config.queries).check_finite())
        }
    assert config.source is not None
    gallery_subset = "train" if config.query_split == "test" else "test"
    base = ExtractConfig(
        source=config.source,
        data=config.data,
        clips=config.clips,
        layer=config.layers[-1],
        pool=config.pool,
        pool5=config.pool5,
        batch_size=config.batch_size,
        device=config.device,
        precision=config.precision,
    )
    from clipcop.workflows.data import prepare_data

    prepared = prepare_data(config.data, reporter)
    layers = config.layers
    gallery = extract_layers(replace(base, subset=gallery_subset), layers, reporter=reporter, prepared=prepared)  # type: ignore[arg-type]
    queries = extract_layers(replace(base, subset=config.query_split), layers, reporter=reporter, prepared=prepared)  # type: ignore[arg-type]
    return {
        layer: (read_features(gallery[layer].path).check_finite(), read_features(queries[layer].path).check_finite())
        for layer in layers
    }


def _comparable(gallery: FeatureFile, queries: FeatureFile, reporter: Reporter) -> bool:
    """Whether accuracy can be scored (same class list); refuses other dimensions and warns about pairs
    that search but mean little (one file as both sides, features of two different models)."""
    if gallery.dim != queries.dim:
        raise FeatureFileError(
            f"gallery features are {gallery.dim}-d but queries are {queries.dim}-d "
            f"({gallery.path.name} vs {queries.path.name}): extract both with the same layer and pooling"
        )
    if gallery.path.resolve() == queries.path.resolve():
        reporter.warn(f"{gallery.path} is both gallery and queries: every query finds itself first")
    (key_g, words_g), (key_q, words_q) = _model(gallery), _model(queries)
    if key_g != key_q:
        reporter.warn(f"gallery and queries come from different models ({words_g} vs {words_q})")
    return gallery.same_classes(queries)


def _model(features: FeatureFile) -> tuple[str, str]:
    """The model a feature file was extracted with: a key to compare two files by, and a few words."""
    card = features.model or CheckpointCard(kind="?")
    layers = f"{features.meta.get('layer')}/{features.meta.get('pool')}"
    recorded = card.extra.get("identity")
    if card.kind == "random":
        origin = f"seed {card.seed}"
    elif card.kind == "torchvision":
        origin = f"weights {card.weights}"
    else:  # the checkpoint as extraction resolved it (older files: as spelled then, resolved here)
        identity = recorded or {"checkpoint": str(Path(str(card.source)).resolve())}
        origin = str(identity.get("checkpoint"))
    words = f"{card.kind} {card.arch or '?'} width {card.width or '?'} ({origin}), {layers}"
    return json.dumps([recorded, card.epoch, words], sort_keys=True, default=str), words


def _gallery_index(
    config: RetrieveConfig, level: Level, gallery: FeatureFile, g: Vectors, *, last: bool
) -> faiss.Index:
    """The index over the gallery's ``level`` vectors; for the ``last`` level searched it is also saved
    (``save_index``) with what a later query needs: which features, and each row's video and label."""
    if not len(g.x):
        raise FeatureFileError(f"{gallery.path} has no {level} features to search (every video failed to decode?)")
    index = build_index(g.x, config.index)
    if config.save_index and last:
        meta = {
            "level": level,
            "features": str(gallery.path),
            "kind": config.index.kind,
            "video": g.video.tolist(),
            "labels": g.labels.tolist(),
        }
        save_index(index, config.save_index, meta)
    return index


def retrieve(
    config: RetrieveConfig | None = None, /, *, reporter: Reporter | None = None, **options: Any
) -> RetrievalResult:
    """Search queries against the gallery and report top-k accuracy per level.

    Under torchrun the processes share the extraction; rank 0 alone then searches and writes files, and
    the others return a result with nothing searched.
    """
    config = from_flat(RetrieveConfig, options, base=config)
    reporter = reporter or Reporter()
    check_retrieve_outputs(config)
    pairs = _features_for(config, reporter)
    if len(pairs) == 1:
        ((gallery, queries),) = pairs.values()
        return _search_pair(config, gallery, queries, reporter)
    results = {layer: _search_pair(config, *pair, Reporter(quiet=True)) for layer, pair in pairs.items()}
    result = results[config.layers[-1]]
    if is_main():
        result.layers = {layer: found.accuracy for layer, found in results.items() if found.accuracy}
        if result.layers:
            reporter.table(render_layers(result, config.ks, pairs[config.layers[-1]][0]))
        else:
            reporter.note("gallery and queries have different (or no) classes: no accuracy per layer")
    return result


def _search_pair(
    config: RetrieveConfig, gallery: FeatureFile, queries: FeatureFile, reporter: Reporter
) -> RetrievalResult:
    """Search one tap's queries against its gallery at each level asked for, and score them."""
    scored = _comparable(gallery, queries, reporter)  # on every process: a mismatch stops them all
    if not is_main():  # one search, not one per process competing for the same cores
        return RetrievalResult({}, {}, {}, not config.index.exact, gallery.path, queries.path)
    if not scored:
        reporter.note(
            "gallery and queries have different (or no) classes: no accuracy; the first queries' nearest "
            "neighbours follow (every query's with --neighbours FILE)"
        )
    levels: list[Level] = ["clip", "video"] if config.level == "both" else [config.level]  # type: ignore[list-item]
    result = RetrievalResult({}, {}, {}, not config.index.exact, gallery.path, queries.path)
    k_max = max(config.ks)
    sides: dict[str, tuple[Side, Side]] = {}
    for level in levels:
        g, q = level_vectors(gallery, level), level_vectors(queries, level)
        index = _gallery_index(config, level, gallery, g, last=level == levels[-1])
        if k_max > len(g.x):
            reporter.note(
                f"top-{k_max} asks for more than the {len(g.x)} {level}-level gallery items: all are searched"
            )
        similarities, neighbours = search(index, q.x, k_max)
        result.neighbours[level], result.similarities[level] = neighbours, similarities
        result.queries[level], result.gallery[level] = len(q.x), len(g.x)
        if scored:
            result.accuracy[level] = topk_accuracy(neighbours, g.labels, q.labels, config.ks)
        sides[level] = Side(gallery, g.video, g.clip_row), Side(queries, q.video, q.clip_row)
        if not scored and level == levels[-1]:  # video level when searched: one row block per query video
            top = neighbours[:, :SHOWN_TOP], similarities[:, :SHOWN_TOP]
            shown = list(neighbour_rows(level, *sides[level], *top, limit=SHOWN_QUERIES))
            reporter.table(render_neighbours(shown, f"Nearest {level}-level neighbours of the first queries"))
    if config.neighbours_csv:
        rows = (
            row
            for level in levels
            for row in neighbour_rows(level, *sides[level], result.neighbours[level], result.similarities[level])
        )
        result.neighbours_file = write_neighbours_csv(config.neighbours_csv, rows)
        reporter.info(f"neighbours of every query: {result.neighbours_file}")
    if scored:
        reporter.table(render_accuracy(result, config.ks, gallery))
    return result


def render_accuracy(result: RetrievalResult, ks: tuple[int, ...], gallery: FeatureFile) -> Table:
    """The top-k table, one row per level, each labelled with what a query is."""
    card = gallery.model or CheckpointCard(kind="?")
    title = (
        f"Retrieval top-k accuracy (%), {card.kind} {card.arch or ''} "
        f"{gallery.meta.get('layer')}/{gallery.meta.get('pool')} {gallery.dim}-d"
    )
    table = Table(title=title + (" [approximate index]" if result.approximate else ""))
    table.add_column("level")
    table.add_column("queries x gallery", justify="right")
    for k in ks:
        table.add_column(f"top{k}", justify="right")
    names = {"clip": "clip (each clip queries clips)", "video": "video (mean of clips)"}
    for level, acc in result.accuracy.items():
        table.add_row(
            names[level],
            f"{result.queries[level]} x {result.gallery[level]}",
            *[f"{100 * acc[k]:.1f}" for k in ks],
        )
    return table


def render_layers(result: RetrievalResult, ks: tuple[int, ...], gallery: FeatureFile) -> Table:
    """Top-k by tap and level, shallow to deep: the paper's Table IV (which layer retrieves best)."""
    card = gallery.model or CheckpointCard(kind="?")
    title = f"Retrieval top-k accuracy (%) by layer, {card.kind} {card.arch or ''} {gallery.meta.get('pool')} pooling"
    table = Table(title=title + (" [approximate index]" if result.approximate else ""))
    table.add_column("layer")
    table.add_column("level")
    table.add_column("queries x gallery", justify="right")
    for k in ks:
        table.add_column(f"top{k}", justify="right")
    for layer, levels in result.layers.items():
        for level, acc in levels.items():
            counts = f"{result.queries[level]} x {result.gallery[level]}"
            table.add_row(layer, level, counts, *[f"{100 * acc[k]:.1f}" for k in ks])
    return table
