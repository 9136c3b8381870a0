"""The extended soft-attention (E-SA) video QA model used in Sec. IV-D (from the ActivityNet-QA baselines).

"The E-SA model first uses a Long Short-Term Memory (LSTM) network to encode the words in the question,
then uses the encoded representation to attend on the extracted clip features, and finally uses the
question and weighted video representation to predict the answer." Concretely:

- question: word embeddings (GloVe 300-d, or learned) -> one-layer LSTM, hidden 300 -> last hidden state q;
- video: the 20 clip features, standardised with training statistics (our addition, so that extractors
  with different feature scales meet the same optimiser on equal terms) -> Linear + tanh to 300-d, v_i;
- soft attention: e_i = w^T tanh(W_v v_i + W_q q), a = softmax_i(e), v = sum_i a_i v_i;
- fusion: tanh(W_f [q; v]) -> dropout -> Linear over the answer classes (class 0: unknown answer).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, cast

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


@dataclass(frozen=True, kw_only=True)
class ESAConfig:
    """Sizes of an E-SA model; ``hidden`` 300 matches the 300-d GloVe embedding (Sec. IV-D)."""

    vocab_size: int
    num_answers: int
    feature_dim: int
    embed_dim: int = 300
    hidden: int = 300
    dropout: float = 0.5

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (for checkpoint metadata)."""
        return asdict(self)


class ESA(nn.Module):
    """Question LSTM, question-guided soft attention over clip features, fused answer classifier.

    >>> model = ESA(ESAConfig(vocab_size=50, num_answers=11, feature_dim=512))
    >>> logits, weights = model(torch.ones(2, 7, dtype=torch.long), torch.tensor([7, 3]), torch.randn(2, 20, 512))
    >>> logits.shape, weights.shape
    (torch.Size([2, 11]), torch.Size([2, 20]))
    """

    feature_mean: torch.Tensor
    feature_std: torch.Tensor

    def __init__(self, config: ESAConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(config.embed_dim, h, batch_first=True)
        self.register_buffer("feature_mean", torch.zeros(config.feature_dim))
        self.register_buffer("feature_std", torch.ones(config.feature_dim))
        self.video = nn.Linear(config.feature_dim, h)
        self.att_video = nn.Linear(h, h, bias=False)
        self.att_question = nn.Linear(h, h)
        self.att_score = nn.Linear(h, 1, bias=False)
        self.fuse = nn.Linear(2 * h, h)
        self.dropout = nn.Dropout(config.dropout)
        self.classify = nn.Linear(h, config.num_answers)

    def set_feature_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-dimension mean and std ``(D,)`` of the training clip features (used to standardise inputs)."""
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp_min(1e-6))

    def encode_question(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Last LSTM hidden state ``(B, H)`` of padded token ids ``(B, L)`` with true ``lengths`` ``(B,)``."""
        words = self.dropout(self.embed(tokens))  # (B, L, E)
        packed = pack_padded_sequence(words, lengths.cpu().clamp_min(1), batch_first=True, enforce_sorted=False)
        _, (hidden, _) = self.lstm(packed)  # hidden: (1, B, H)
        return cast(torch.Tensor, hidden[-1])

    def attend(self, question: torch.Tensor, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attended video ``(B, H)`` and attention weights ``(B, N)`` (summing to 1) for clips ``(B, N, D)``."""
        x = (clips - self.feature_mean) / self.feature_std  # (B, N, D)
        v = torch.tanh(self.video(self.dropout(x)))  # (B, N, H)
        scores = self.att_score(torch.tanh(self.att_video(v) + self.att_question(question)[:, None]))  # (B, N, 1)
        weights = scores.squeeze(-1).softmax(dim=1)  # (B, N)
        return torch.einsum("bn,bnh->bh", weights, v), weights

    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor, clips: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Answer logits ``(B, A)`` and attention weights ``(B, N)``."""
        q = self.encode_question(tokens, lengths)  # (B, H)
        v, weights = self.attend(q, clips)  # (B, H), (B, N)
        fused = torch.tanh(self.fuse(torch.cat([q, v], dim=1)))  # (B, H)
        return self.classify(self.dropout(fused)), weights


def predict_answers(logits: torch.Tensor) -> torch.Tensor:
    """The best known answer per question ``(B,)``: class 0 (unknown) is never predicted."""
    return logits[:, 1:].argmax(dim=1) + 1


__all__ = ["ESA", "ESAConfig", "predict_answers"]
