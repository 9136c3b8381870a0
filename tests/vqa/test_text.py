"""Tokenizer, word and answer vocabularies, and GloVe loading from a tiny hand-written vector file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clipcop.errors import DataError
from clipcop.vqa.text import PAD, UNK, AnswerVocabulary, Vocabulary, load_glove, tokenize

GLOVE = """\
the 0.1 0.2 0.3
man 1.0 0.0 -1.0
red 0.5 0.5 0.5
broken 0.1 oops 0.3
short 0.1
Dog 2.0 2.0 2.0
dog 3.0 3.0 3.0
"""
VECTORS = {"the": [0.1, 0.2, 0.3], "man": [1.0, 0.0, -1.0], "red": [0.5, 0.5, 0.5], "Dog": [2.0] * 3, "dog": [3.0] * 3}


def test_tokens_are_lower_case_words_as_in_activitynet_qa() -> None:
    expected = ["is", "the", "man's", "t-shirt", "red", "no", "3", "athlete"]
    assert tokenize("Is the man's T-shirt RED?  no.3 athlete ") == expected
    assert tokenize("?!") == []


def test_the_vocabulary_comes_from_training_questions_by_frequency() -> None:
    vocab = Vocabulary.build(["what is red", "what is the man doing", "is it"], min_count=2)
    assert vocab.words == (PAD, UNK, "is", "what")
    assert vocab.encode("What is a zebra") == [3, 2, 1, 1]
    assert vocab.encode("???") == [1]
    assert vocab.extended(["zebra", "is"]).words == (PAD, UNK, "is", "what", "zebra")


def test_the_answer_vocabulary_keeps_the_k_most_frequent_and_maps_the_rest_to_unknown() -> None:
    answers = AnswerVocabulary.top(["yes", "no", "yes", "red", "no", "yes", "blue", "blue"], k=3)
    assert answers.answers == (UNK, "yes", "blue", "no")  # ties ("blue", "no": 2 each) by spelling
    assert [answers.id(a) for a in ("yes", "no", "red", None)] == [1, 3, 0, 0]


def test_glove_lookup_uses_file_vectors_and_the_mean_vector_for_missing_words(tmp_path: Path) -> None:
    path = tmp_path / "glove.tiny.3d.txt"
    path.write_text(GLOVE)
    words = [PAD, UNK, "man", "the", "zebra", "dog"]
    vectors = load_glove(path, words)
    mean = np.mean(list(VECTORS.values()), axis=0)
    assert vectors.dim == 3 and vectors.file_words == 5 and vectors.malformed == 2
    assert vectors.found.tolist() == [False, False, True, True, False, True]
    np.testing.assert_allclose(vectors.matrix[0], 0.0)
    np.testing.assert_allclose(vectors.matrix[2], VECTORS["man"])
    np.testing.assert_allclose(vectors.matrix[3], VECTORS["the"])
    np.testing.assert_allclose(vectors.matrix[5], VECTORS["dog"])  # the exact match wins over "Dog"
    np.testing.assert_allclose(vectors.matrix[1], mean, rtol=1e-6)
    np.testing.assert_allclose(vectors.matrix[4], mean, rtol=1e-6)
    assert vectors.matrix.dtype == np.float32


def test_glove_accepts_a_word2vec_header_and_words_with_spaces(tmp_path: Path) -> None:
    path = tmp_path / "vectors.txt"
    path.write_text("2 2\n. . . 1.0 2.0\nman 3.0 4.0\n")
    vectors = load_glove(path, [PAD, UNK, ". . .", "man"])
    assert vectors.dim == 2 and vectors.found.tolist() == [False, False, True, True]
    np.testing.assert_allclose(vectors.matrix[1], [2.0, 3.0])


def test_a_glove_file_without_vectors_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("not vectors at all\n")
    with pytest.raises(DataError, match="holds no word vectors"):
        load_glove(path, [PAD, UNK])
    with pytest.raises(DataError, match="does not exist"):
        load_glove(tmp_path / "nope.txt", [PAD, UNK])
