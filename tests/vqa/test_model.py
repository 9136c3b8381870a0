"""The E-SA model: shapes, attention weights, padding, the unknown class, and that it can learn from clips."""

from __future__ import annotations

import torch

from clipcop.vqa.model import ESA, ESAConfig, predict_answers


def _model(**sizes: int) -> ESA:
    torch.manual_seed(0)
    config = ESAConfig(vocab_size=30, num_answers=7, feature_dim=16, **sizes)
    return ESA(config).eval()


def test_shapes_and_attention_weights_sum_to_one_over_the_20_clips() -> None:
    model = _model()
    tokens = torch.randint(2, 30, (4, 9))
    lengths = torch.tensor([9, 1, 5, 3])
    logits, weights = model(tokens, lengths, torch.randn(4, 20, 16))
    assert logits.shape == (4, 7) and weights.shape == (4, 20)
    assert torch.all(weights >= 0)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(4))
    assert model.lstm.hidden_size == 300 and model.embed.embedding_dim == 300


def test_padding_after_the_question_length_changes_nothing() -> None:
    model = _model(hidden=12, embed_dim=10)
    clips = torch.randn(1, 20, 16)
    short = torch.tensor([[5, 6, 7]])
    padded = torch.tensor([[5, 6, 7, 0, 0, 0]])
    garbage = torch.tensor([[5, 6, 7, 9, 9, 9]])
    reference, _ = model(short, torch.tensor([3]), clips)
    for tokens in (padded, garbage):
        logits, _ = model(tokens, torch.tensor([3]), clips)
        torch.testing.assert_close(logits, reference)


def test_the_attended_vector_is_the_weighted_sum_of_projected_clips() -> None:
    model = _model(hidden=12, embed_dim=10)
    question = torch.randn(2, 12)
    clips = torch.randn(2, 20, 16)
    attended, weights = model.attend(question, clips)
    projected = torch.tanh(model.video((clips - model.feature_mean) / model.feature_std))
    torch.testing.assert_close(attended, (weights[..., None] * projected).sum(dim=1))


def test_the_unknown_class_is_never_predicted() -> None:
    logits = torch.tensor([[9.0, 1.0, 2.0], [0.0, 3.0, -1.0]])
    assert predict_answers(logits).tolist() == [2, 1]


def test_it_learns_an_answer_that_only_the_clips_hold() -> None:
    torch.manual_seed(0)
    model = ESA(ESAConfig(vocab_size=5, num_answers=3, feature_dim=4, embed_dim=8, hidden=16, dropout=0.0))
    labels = torch.randint(1, 3, (32,))
    clips = torch.randn(32, 20, 4)
    clips[torch.arange(32), 7, 0] += 4.0 * (labels * 2 - 3)  # one clip of each video says the answer
    tokens, lengths = torch.full((32, 3), 2), torch.full((32,), 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(40):
        logits, _ = model(tokens, lengths, clips)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    logits, weights = model.eval()(tokens, lengths, clips)
    assert (predict_answers(logits) == labels).float().mean() > 0.95
    assert weights.argmax(dim=1).eq(7).float().mean() > 0.5  # and it looks at that clip
