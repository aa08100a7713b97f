"""Text normalisers and jiwer-level error rates with hand-counted answers (no ASR)."""
import math

import pytest

from tts_codec.errors import UserError
from tts_codec.eval.normalize import get_normalizer, simple_normalize, whisper_en_normalize
from tts_codec.eval.wer import char_errors, corpus_rate, corpus_rates, text_error_rates, wer, word_errors


def test_simple_normalizer_rules():
    assert simple_normalize("  It's  the Birch-canoe, <b>OK</b>?! ") == "its the birch canoe b ok b"
    assert simple_normalize("Fifty, 50%") == "fifty 50"


def test_whisper_normalizer_maps_numbers_and_spelling():
    assert whisper_en_normalize("Fifty colours") == "50 colors"


def test_unknown_normalizer_is_a_user_error():
    with pytest.raises(UserError, match="unknown text normaliser 'nope'"):
        get_normalizer("nope")


@pytest.mark.parametrize(
    "ref, hyp, errors",
    [
        ("the birch canoe slid", "the birch canoe slid", 0),
        ("the birch canoe slid", "the merch canoe slid", 1),  # substitution
        ("the birch canoe slid", "the canoe slid", 1),  # deletion
        ("the birch canoe slid", "the birch canoe slid on", 1),  # insertion
        ("the birch canoe slid", "a merch can you slid", 4),  # 3 sub + 1 ins
        ("the birch canoe slid", "", 4),  # empty hypothesis = all deleted
    ],
)
def test_word_errors_exact(ref, hyp, errors):
    assert word_errors(ref, hyp) == (errors, 4)
    assert wer(ref, hyp) == errors / 4


def test_empty_reference_is_an_error():
    with pytest.raises(ValueError, match="empty reference"):
        word_errors("  ", "something")


def test_char_errors():
    assert char_errors("abc", "abd") == (1, 3)


def test_text_error_rates_normalise_both_sides():
    rates = text_error_rates("The birch canoe, slid!", "the BIRCH canoe slid")
    assert rates == {"wer": 0.0, "cer": 0.0, "wer_en": 0.0}
    assert text_error_rates("Fifty dollars", "50 dollars")["wer"] == 0.5
    assert text_error_rates("Fifty dollars", "50 dollars")["wer_en"] == 0.0


def test_corpus_rate_weighs_by_length():
    # utterance WERs 1/4 and 2/2: mean 0.625, corpus 3/6
    refs, hyps = ["a b c d", "x y"], ["a b c", "x z w"]
    assert corpus_rates(refs, hyps)["wer"] == pytest.approx(0.5)
    assert math.isnan(corpus_rate([]))
