"""Scoring an E-SA model: predictions, per-type accuracy, the majority-answer baseline, ``clipcop vqa eval``.

A checkpoint carries everything but the data: weights, the word and answer vocabularies and the model
sizes in its metadata, so ``vqa eval`` needs only the checkpoint, a feature file and the QA folder.

>>> from clipcop.vqa.evaluate import eval_vqa  # doctest: +SKIP
>>> result = eval_vqa(checkpoint="runs/vqa/best.safetensors", features="f.safetensors", qa="qa")  # doctest: +SKIP
>>> result.accuracy.row()["motion"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from clipcop.engine.atomic import write_text_atomic
from clipcop.engine.card import CheckpointCard
from clipcop.engine.checkpoint import load_checkpoint
from clipcop.engine.device import resolve_runtime
from clipcop.engine.reporting import Reporter
from clipcop.errors import CheckpointError, MalformedCheckpointError, UsageError
from clipcop.metrics.qa import QAAccuracy, answers_correct, qa_accuracy
from clipcop.outputs import Output, check_outputs
from clipcop.results import VQAEvalRecord
from clipcop.validation import INT, NUMBER, OBJECT, STR, Fields, Shape, list_of, object_of, read_json
from clipcop.vqa.activitynet import Issues, QAItem, read_split
from clipcop.vqa.data import MAX_QUESTION_WORDS, QATensors, VideoFeatures, to_tensors
from clipcop.vqa.model import ESA, ESAConfig, predict_answers
from clipcop.vqa.report import accuracy_table, describe_source, qa_scores
from clipcop.vqa.text import AnswerVocabulary, Vocabulary, load_glove, tokenize

KIND = "vqa"


@dataclass(frozen=True)
class Predictions:
    """Predicted answer ids ``(Q,)``, mean cross-entropy, and attention weights over clips ``(Q, N)``."""

    answer: np.ndarray
    loss: float
    attention: np.ndarray


@torch.no_grad()
def predict(model: ESA, data: QATensors, *, batch_size: int = 256, device: torch.device | None = None) -> Predictions:
    """Answer every question of ``data`` (class 0, unknown, is never predicted)."""
    device = device or next(model.parameters()).device
    model.eval()
    answers, weights, loss_sum = [], [], 0.0
    for index in data.batches(batch_size):
        logits, attention = model(*data.inputs(index, device))  # (B, A), (B, N)
        loss_sum += float(F.cross_entropy(logits, data.answer[index].to(device), reduction="sum"))
        answers.append(predict_answers(logits).cpu())
        weights.append(attention.cpu())
    return Predictions(torch.cat(answers).numpy(), loss_sum / max(len(data), 1), torch.cat(weights).numpy())


def score(predicted: np.ndarray, data: QATensors) -> QAAccuracy:
    """Per-type exact-match accuracy (a true answer outside the vocabulary always counts as wrong)."""
    return qa_accuracy(data.qtype.numpy(), answers_correct(predicted, data.answer.numpy()))


def majority_answers(items: Sequence[QAItem]) -> dict[int, str]:
    """The most frequent training answer of each question type (ties by spelling)."""
    by_type: dict[int, Counter[str]] = {}
    for item in items:
        if item.answer is not None:
            by_type.setdefault(item.qtype, Counter())[item.answer] += 1
    return {t: min(c, key=lambda a: (-c[a], a)) for t, c in sorted(by_type.items())}


def majority_accuracy(majority: dict[int, str], data: QATensors, answers: AnswerVocabulary) -> QAAccuracy:
    """The baseline that answers every question with its type's most frequent training answer."""
    guess = np.array([answers.id(majority.get(int(t))) for t in data.qtype.tolist()], dtype=np.int64)
    return score(guess, data)


def write_predictions(path: Path, data: QATensors, predicted: np.ndarray, answers: AnswerVocabulary) -> Path:
    """``[{question_id, answer}]`` as the ActivityNet-QA evaluation script reads it."""
    rows = [
        {"question_id": item.question_id, "answer": answers.answers[int(a)]}
        for item, a in zip(data.items, predicted, strict=True)
    ]
    return write_text_atomic(path, json.dumps(rows))


def load_model(path: str | Path, device: torch.device) -> tuple[ESA, Vocabulary, AnswerVocabulary, CheckpointCard]:
    """An E-SA model with its vocabularies from a ``vqa`` checkpoint, and the checkpoint's card."""
    ckpt = load_checkpoint(path, kind=KIND)
    card = ckpt.card
    check_vqa_card(card, path)
    try:
        config = ESAConfig(**card.entry("model", dict))
        vocab = Vocabulary(tuple(card.entry("vocabulary", list)))
        answers = AnswerVocabulary(tuple(card.entry("answers", list)))
        model = ESA(config)
        model.load_state_dict(ckpt.tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is a damaged vqa checkpoint ({str(err).splitlines()[0]})") from None
    return model.to(device), vocab, answers, card


_MODEL = {"vocab_size": INT, "num_answers": INT, "feature_dim": INT, "embed_dim": INT, "hidden": INT, "dropout": NUMBER}
_MAJORITY = Shape(
    "a JSON object of answers by question type", lambda v: object_of(STR)(v) and all(k.isdigit() for k in v)
)
_VQA = {
    "vocabulary": list_of(STR),
    "answers": list_of(STR),
    "embeddings": STR,
    "features": OBJECT,
    "majority": _MAJORITY,
}


def check_vqa_card(card: CheckpointCard, path: str | Path) -> None:
    """The entries of a ``vqa`` checkpoint's header that only E-SA models have, checked for their shapes
    (one line naming the file and the field otherwise)."""
    what = "vqa checkpoint header"
    fields = Fields(card.extra, path, what, error=MalformedCheckpointError)
    fields.check(_VQA, required=("vocabulary", "answers"))
    fields.sub("model", required=True).check(_MODEL, required=("vocab_size", "num_answers", "feature_dim"))
    fields.sub("features").get("clips", INT)


def extend_with_glove(
    model: ESA, vocab: Vocabulary, items: Sequence[QAItem], glove: str, card: CheckpointCard, reporter: Reporter
) -> tuple[ESA, Vocabulary]:
    """Give words unseen in training their GloVe vectors (only for models trained with frozen GloVe)."""
    if card.entry("embeddings", str, "") != "glove":
        reporter.note("--glove ignored: this model's embeddings were trained, not read from GloVe")
        return model, vocab
    new = [w for w in dict.fromkeys(t for item in items for t in tokenize(item.question)) if w not in vocab]
    vectors = load_glove(glove, new)
    if vectors.dim != model.config.embed_dim:
        raise UsageError(
            f"--glove has {vectors.dim}-d vectors but the model was trained with {model.config.embed_dim}-d"
        )
    words = [w for w, hit in zip(new, vectors.found, strict=True) if hit]
    reporter.info(f"{len(words)} of {len(new)} question words unseen in training found in {Path(glove).name}")
    if not words:
        return model, vocab
    weight = model.embed.weight.data
    added = torch.from_numpy(vectors.matrix[vectors.found]).to(weight)
    bigger = ESA(replace(model.config, vocab_size=len(vocab) + len(words))).to(weight.device)
    state = {**model.state_dict(), "embed.weight": torch.cat([weight, added])}
    bigger.load_state_dict(state)
    return bigger, vocab.extended(words)


@dataclass(frozen=True, kw_only=True)
class VQAEvalConfig:
    """Every option of ``clipcop vqa eval``."""

    checkpoint: str
    features: str
    qa: str
    split: str = "test"
    predictions: str | None = None
    glove: str | None = None
    batch_size: int = 256
    max_question_words: int = MAX_QUESTION_WORDS
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, not {self.batch_size}")
        if self.max_question_words < 1:
            raise UsageError(f"--max-question-words must be at least 1, not {self.max_question_words}")


def predictions_path(config: VQAEvalConfig) -> Path:
    """``--predictions``, or ``predictions-SPLIT.json`` beside the checkpoint."""
    if config.predictions:
        return Path(config.predictions)
    return Path(config.checkpoint).parent / f"predictions-{config.split}.json"


def eval_inputs(config: VQAEvalConfig) -> dict[str, str | Path | None]:
    """Every file ``vqa eval`` reads, by the flag that names it (an output must be none of them)."""
    qa = Path(config.qa)
    return {
        "--checkpoint": config.checkpoint,
        "--features": config.features,
        "--qa": qa / f"{config.split}_q.json",
        "--qa (answers)": qa / f"{config.split}_a.json",
        "--glove": config.glove,
    }


def is_predictions(path: Path) -> bool:
    """Whether ``path`` holds predictions as :func:`write_predictions` writes them (and nothing else)."""
    rows = read_json(path, "predictions file")
    return isinstance(rows, list) and all(isinstance(r, dict) and set(r) == {"question_id", "answer"} for r in rows)


@dataclass
class VQAEvalResult:
    """Predictions written, and the accuracy when the split has answers (with the majority baseline)."""

    split: str
    predictions: Path
    questions: int
    accuracy: QAAccuracy | None
    baseline: QAAccuracy | None
    issues: Issues

    def record(self) -> VQAEvalRecord:
        """What ``clipcop vqa eval`` prints (:mod:`clipcop.results`)."""
        scored = self.accuracy.row() if self.accuracy is not None else {}
        return VQAEvalRecord(
            split=self.split,
            predictions=str(self.predictions),
            questions=self.questions,
            motion_accuracy=scored.get("motion"),
            free_accuracy=scored.get("free"),
            all_accuracy=scored.get("all"),
            scores=qa_scores(self.accuracy),
            majority_baseline=qa_scores(self.baseline),
            issues=self.issues.as_dict(),
        )


def eval_vqa(
    config: VQAEvalConfig | None = None, /, *, reporter: Reporter | None = None, **options: Any
) -> VQAEvalResult:
    """Answer the questions of one split, write ``[{question_id, answer}]``, score them when answers exist."""
    config = replace(config, **options) if config else VQAEvalConfig(**options)
    reporter = reporter or Reporter()
    out = predictions_path(config)
    check_outputs([Output("--predictions", out, "a clipcop predictions file", is_predictions)], eval_inputs(config))
    device = resolve_runtime(config.device, "fp32").device
    model, vocab, answers, card = load_model(config.checkpoint, device)
    trained_features = card.entry("features", dict, {})
    issues = Issues()
    features = VideoFeatures(config.features, issues)
    if features.dim != model.config.feature_dim:
        raise UsageError(
            f"{config.features} has {features.dim}-d features but the model was trained on "
            f"{model.config.feature_dim}-d ones"
        )
    trained_clips = trained_features.get("clips")
    if trained_clips is not None and trained_clips != features.clips:
        reporter.warn(
            f"{config.features} has {features.clips} clips per video but the model was trained on {trained_clips}: "
            "attention spreads over a different number of clips (extract with the same --clips)"
        )
    trained_on, given = trained_features.get("source"), features.file.meta.get("source")
    if trained_on and trained_on != given:
        reporter.warn(
            f"the model was trained on features of {describe_source(trained_on)}, not of {describe_source(given)}"
        )
    split = read_split(config.qa, config.split, issues, need_answers=False)
    if config.glove:
        model, vocab = extend_with_glove(model, vocab, split.items, config.glove, card, reporter)
    data = to_tensors(
        split.items, features, vocab, answers, issues, split=config.split, max_words=config.max_question_words
    )
    issues.report(reporter)
    result = predict(model, data, batch_size=config.batch_size, device=device)
    write_predictions(out, data, result.answer, answers)
    reporter.info(f"wrote {len(data)} predictions to {out}")
    accuracy = baseline = None
    if split.has_answers:
        accuracy = score(result.answer, data)
        majority = {int(t): a for t, a in card.entry("majority", dict, {}).items()}
        baseline = majority_accuracy(majority, data, answers) if majority else None
        rows = {"E-SA": accuracy, **({"majority": baseline} if baseline else {})}
        reporter.table(accuracy_table(rows, f"Video QA on {config.split} (Table VI layout)"))
    else:
        reporter.note(f"{config.split}_a.json not found: predictions written, nothing scored")
    return VQAEvalResult(config.split, out, len(data), accuracy, baseline, issues)


__all__ = [
    "KIND",
    "Predictions",
    "VQAEvalConfig",
    "VQAEvalResult",
    "eval_vqa",
    "extend_with_glove",
    "load_model",
    "majority_accuracy",
    "majority_answers",
    "predict",
    "score",
    "write_predictions",
]
