"""``clipcop vqa train``: E-SA on clip features with ActivityNet-QA questions (Sec. IV-D, Table VI).

The video side is a feature file of 20 evenly spaced clips per video (``clipcop extract --clips 20``) from
a VCOP checkpoint, a fine-tuned one, or a random initialisation; the same E-SA training on each gives
the Table VI comparison. Optimisation follows the E-SA baseline: Adam, learning rate 1e-3, a small L2
penalty (weight decay 1e-5); batch size 64, 30 epochs and dropout 0.5 are our defaults. Every epoch is
validated; the checkpoint with the best validation accuracy (ties: lower loss) is kept, then scored on
the test split when it has answers.

>>> from clipcop.vqa.train import train_vqa  # doctest: +SKIP
>>> result = train_vqa(features="anet.safetensors", qa="~/data/anet-qa", glove="glove.6B.300d.txt")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from clipcop.config import check_seed
from clipcop.engine.atomic import append_line, write_text_atomic
from clipcop.engine.card import CheckpointCard
from clipcop.engine.checkpoint import load_checkpoint, now_iso, save_checkpoint
from clipcop.engine.device import resolve_runtime
from clipcop.engine.fit import check_finite
from clipcop.engine.lock import LOCK_NAME
from clipcop.engine.reporting import Reporter
from clipcop.engine.run_dir import run_lock, write_run_settings
from clipcop.engine.seeding import seed_everything
from clipcop.errors import DataError, TrainingError, UsageError
from clipcop.metrics.qa import QAAccuracy
from clipcop.results import VQATrainRecord
from clipcop.vqa.activitynet import Issues
from clipcop.vqa.data import MAX_QUESTION_WORDS, QATensors, VideoFeatures, feature_statistics, to_tensors
from clipcop.vqa.evaluate import KIND, majority_accuracy, majority_answers, predict, score
from clipcop.vqa.model import ESA, ESAConfig
from clipcop.vqa.report import accuracy_json, accuracy_table, describe_source, qa_scores
from clipcop.vqa.splits import Splits, load_splits
from clipcop.vqa.text import AnswerVocabulary, Vocabulary, load_glove

BEST, METRICS, RESULTS = "best.safetensors", "metrics.jsonl", "results.json"
PAPER_CLIPS = 20


@dataclass(frozen=True, kw_only=True)
class VQAConfig:
    """Every option of ``clipcop vqa train``; LSTM hidden 300, Adam 1e-3 and L2 1e-5 follow E-SA."""

    features: str
    qa: str
    glove: str | None = None
    tune_embeddings: bool = False
    out: str | None = None
    answers: int = 1000
    min_word_count: int = 1
    max_question_words: int = MAX_QUESTION_WORDS
    embed_dim: int = 300
    hidden: int = 300
    dropout: float = 0.5
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-5
    val_split: str = "val"
    test_split: str | None = "test"
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        positive = {"--answers": self.answers, "--epochs": self.epochs, "--batch-size": self.batch_size}
        positive |= {"--hidden": self.hidden, "--embed-dim": self.embed_dim, "--min-word-count": self.min_word_count}
        positive |= {"--max-question-words": self.max_question_words}
        for flag, value in positive.items():
            if value < 1:
                raise UsageError(f"{flag} must be at least 1, not {value}")
        # NaN fails every comparison, so ranges are written to reject it
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"--lr must be a positive number, not {self.lr}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise UsageError(f"--weight-decay must be 0 or more, not {self.weight_decay}")
        if not 0 <= self.dropout < 1:
            raise UsageError(f"--dropout must be in [0, 1), not {self.dropout}")
        check_seed(self.seed)


@dataclass
class VQATrainResult:
    """A finished run: its folder, best checkpoint and epoch, per-epoch metrics, and the scores."""

    run_dir: Path
    checkpoint: Path
    best_epoch: int
    history: list[dict[str, Any]]
    val: QAAccuracy
    test: QAAccuracy | None
    baseline: QAAccuracy
    issues: Issues = field(default_factory=Issues)

    @property
    def reported_split(self) -> str:
        """The split of the final table: test when it was scored, else validation."""
        return "test" if self.test is not None else "val"

    def record(self) -> VQATrainRecord:
        """What ``clipcop vqa train`` prints (:mod:`clipcop.results`)."""
        val, baseline = qa_scores(self.val), qa_scores(self.baseline)
        assert val is not None and baseline is not None
        final = (self.test if self.test is not None else self.val).row()
        return VQATrainRecord(
            run_dir=str(self.run_dir),
            checkpoint=str(self.checkpoint),
            best_epoch=self.best_epoch,
            split=self.reported_split,
            motion_accuracy=final["motion"],
            free_accuracy=final["free"],
            all_accuracy=final["all"],
            val=val,
            test=qa_scores(self.test),
            majority_baseline=baseline,
            history=[dict(h) for h in self.history],
            issues=self.issues.as_dict(),
        )


def _embeddings(config: VQAConfig, vocab: Vocabulary, reporter: Reporter) -> tuple[torch.Tensor | None, int]:
    """GloVe vectors for the vocabulary ``(V, D)`` and D, or None and ``embed_dim`` for learned embeddings."""
    if config.glove is None:
        reporter.note(f"no --glove: {config.embed_dim}-d word embeddings are learned from the training questions")
        return None, config.embed_dim
    vectors = load_glove(config.glove, vocab.words)
    found = int(vectors.found[2:].sum())
    reporter.info(
        f"GloVe: {found} of {len(vocab) - 2} question words found in {Path(config.glove).name} "
        f"({vectors.file_words} vectors, {vectors.dim}-d); the others get the mean vector"
        + ("" if config.tune_embeddings else "; embeddings frozen")
    )
    if vectors.malformed:
        reporter.warn(f"{vectors.malformed} malformed lines in {config.glove} skipped")
    return torch.from_numpy(vectors.matrix), vectors.dim


def _build_model(config: VQAConfig, vocab: Vocabulary, num_answers: int, train: QATensors, reporter: Reporter) -> ESA:
    glove, embed_dim = _embeddings(config, vocab, reporter)
    seed_everything(config.seed)
    model = ESA(
        ESAConfig(
            vocab_size=len(vocab),
            num_answers=num_answers,
            feature_dim=train.clips.shape[-1],
            embed_dim=embed_dim,
            hidden=config.hidden,
            dropout=config.dropout,
        )
    )
    if glove is not None:
        model.embed.weight.data.copy_(glove)
        model.embed.weight.requires_grad_(config.tune_embeddings)
    model.set_feature_statistics(*feature_statistics(train))
    return model


def _train_epoch(
    model: ESA, data: QATensors, optimizer: torch.optim.Optimizer, batch_size: int, generator: torch.Generator
) -> float:
    """One shuffled pass; the mean training cross-entropy."""
    model.train()
    device = next(model.parameters()).device
    loss_sum = 0.0
    for index in data.batches(batch_size, torch.randperm(len(data), generator=generator)):
        logits, _ = model(*data.inputs(index, device))  # (B, A)
        loss = F.cross_entropy(logits, data.answer[index].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(index)
    return loss_sum / len(data)


def _card(
    config: VQAConfig, model: ESA, vocab: Vocabulary, answers: AnswerVocabulary, extra: dict[str, Any]
) -> CheckpointCard:
    """The card every checkpoint of this run starts from: the model, its vocabularies, the run's settings."""
    return CheckpointCard.for_run(
        kind=KIND,
        model=model.config.as_dict(),
        vocabulary=list(vocab.words),
        answers=list(answers.answers),
        embeddings="learned" if config.glove is None else ("glove-tuned" if config.tune_embeddings else "glove"),
        config=asdict(config),
        seed=config.seed,
        created=now_iso(),
        **extra,
    )


def _fit(
    model: ESA,
    train: QATensors,
    val: QATensors,
    config: VQAConfig,
    run_dir: Path,
    card: CheckpointCard,
    reporter: Reporter,
) -> tuple[int, list[dict[str, Any]]]:
    """Train for ``config.epochs``, keeping the best validation accuracy in ``best.safetensors``."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    best_key, best_epoch, history = (-1.0, 0.0), 0, []
    (run_dir / METRICS).unlink(missing_ok=True)
    for epoch in range(1, config.epochs + 1):
        train_loss = _train_epoch(model, train, optimizer, config.batch_size, generator)
        check_finite(epoch, "training", train_loss)
        outcome = predict(model, val)
        val_acc = score(outcome.answer, val).overall
        record = {"epoch": epoch, "train_loss": train_loss, "val_loss": outcome.loss, "val_acc": val_acc}
        history.append(record)
        improved = (val_acc, -outcome.loss) > best_key
        if improved:
            best_key, best_epoch = (val_acc, -outcome.loss), epoch
            save_checkpoint(run_dir / BEST, model.state_dict(), replace(card, epoch=epoch, metrics=record).to_meta())
        append_line(run_dir / METRICS, json.dumps(record))
        reporter.info(
            f"epoch {epoch}/{config.epochs}  train loss {train_loss:.4f}  val loss {outcome.loss:.4f} "
            f"acc {val_acc:.3f}" + ("  *best*" if improved else "")
        )
    return best_epoch, history


def _check_run_dir(run_dir: Path) -> None:
    """Refuse to overwrite an earlier run (the folder itself is made only once training starts)."""
    if (run_dir / BEST).exists():
        raise UsageError(f"{run_dir} already holds a vqa run; choose another --out")


def train_vqa(
    config: VQAConfig | None = None, /, *, reporter: Reporter | None = None, **options: Any
) -> VQATrainResult:
    """Train E-SA on the train split, select on val, score the best checkpoint on test (Table VI)."""
    config = replace(config, **options) if config else VQAConfig(**options)
    reporter = reporter or Reporter()
    run_dir = Path(config.out) if config.out else Path("runs") / f"vqa-{Path(config.features).stem}"
    made = not run_dir.exists()
    with run_lock(run_dir, reporter):
        return _train_vqa_locked(config, run_dir, reporter, made=made)


def _train_vqa_locked(config: VQAConfig, run_dir: Path, reporter: Reporter, *, made: bool) -> VQATrainResult:
    """:func:`train_vqa` inside its run folder's lock (``made``: the folder is this run's own)."""
    _check_run_dir(run_dir)
    device = resolve_runtime(config.device, "fp32").device
    issues = Issues()
    features = VideoFeatures(config.features, issues)
    if features.clips != PAPER_CLIPS:
        reporter.note(f"{features.clips} clips per video in {config.features}; the paper uses 20 (extract --clips 20)")
    splits = load_splits(config.qa, config.val_split, config.test_split, issues, reporter)
    vocab = Vocabulary.build((item.question for item in splits.train.items), min_count=config.min_word_count)
    answers = AnswerVocabulary.top((item.answer or "" for item in splits.train.items), config.answers)
    tensors = _tensors(splits, features, vocab, answers, issues, reporter, config.max_question_words)
    train, val = tensors[splits.train.name], tensors[splits.val.name]
    issues.report(reporter)
    _describe(train, val, vocab, answers, features, reporter)
    model = _build_model(config, vocab, len(answers), train, reporter).to(device)
    majority = majority_answers(splits.train.items)
    extra = {
        "features": {"path": str(config.features), "source": features.file.meta.get("source"), "clips": features.clips},
        "majority": {str(t): a for t, a in majority.items()},
    }
    card = _card(config, model, vocab, answers, extra)
    settings = write_run_settings(run_dir, config, "clipcop vqa train")
    try:
        best_epoch, history = _fit(model, train, val, config, run_dir, card, reporter)
    except TrainingError:
        if made and {p.name for p in run_dir.iterdir()} - {LOCK_NAME} == {settings.name}:
            settings.unlink()  # a run that diverged in its first epoch leaves no folder (the lock removes it)
        raise
    best = load_checkpoint(run_dir / BEST, kind=KIND)
    model.load_state_dict(best.tensors)
    scores = {name: score(predict(model, data).answer, data) for name, data in tensors.items()}
    test = scores.get(splits.test.name) if splits.test else None
    final = splits.test.name if test is not None and splits.test else splits.val.name
    baseline = majority_accuracy(majority, tensors[final], answers)
    result = VQATrainResult(
        run_dir, run_dir / BEST, best_epoch, history, scores[splits.val.name], test, baseline, issues
    )
    _finish(result, best.card, best.tensors, features, reporter)
    return result


def _tensors(
    splits: Splits,
    features: VideoFeatures,
    vocab: Vocabulary,
    answers: AnswerVocabulary,
    issues: Issues,
    reporter: Reporter,
    cap: int = MAX_QUESTION_WORDS,
) -> dict[str, QATensors]:
    """Every split as tensors (questions cut to ``cap`` words); a test split without any features is
    reported and left out."""
    tensors = {
        s.name: to_tensors(s.items, features, vocab, answers, issues, split=s.name, max_words=cap)
        for s in splits.all()[:2]
    }
    if splits.test is not None:
        try:
            tensors[splits.test.name] = to_tensors(
                splits.test.items, features, vocab, answers, issues, split="test", max_words=cap
            )
        except DataError as err:
            reporter.warn(f"test split not scored: {err}")
    return tensors


def _describe(
    train: QATensors,
    val: QATensors,
    vocab: Vocabulary,
    answers: AnswerVocabulary,
    features: VideoFeatures,
    reporter: Reporter,
) -> None:
    unknown = float((train.answer == 0).float().mean())
    reporter.info(
        f"E-SA on {describe_source(features.file.meta.get('source'))}: {len(train)} train / {len(val)} val questions, "
        f"{features.clips} clips x {features.dim}-d per video, {len(vocab) - 2} words, "
        f"{len(answers) - 1} answers (+ unknown: {unknown:.1%} of training answers)"
    )


def _finish(
    result: VQATrainResult,
    card: CheckpointCard,
    tensors: dict[str, torch.Tensor],
    features: VideoFeatures,
    reporter: Reporter,
) -> None:
    """Table VI on the final split, ``results.json``, and the scores added to the checkpoint metadata."""
    final = result.test if result.test is not None else result.val
    title = f"Video QA on {result.reported_split} (Table VI layout), best epoch {result.best_epoch}"
    reporter.table(accuracy_table({"E-SA": final, "majority": result.baseline}, title))
    summary = {
        "features": str(features.file.path),
        "source": features.file.meta.get("source"),
        "best_epoch": result.best_epoch,
        "val": accuracy_json(result.val),
        "test": accuracy_json(result.test),
        "majority_baseline": accuracy_json(result.baseline),
        "issues": result.issues.as_dict(),
    }
    write_text_atomic(result.run_dir / RESULTS, json.dumps(summary, indent=2))
    scored = card.with_metrics(val=result.val.row(), **({"test": result.test.row()} if result.test else {}))
    save_checkpoint(result.checkpoint, tensors, scored.to_meta())


__all__ = ["VQAConfig", "VQATrainResult", "train_vqa"]
