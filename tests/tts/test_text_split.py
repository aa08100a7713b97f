from __future__ import annotations

import pytest

from tts_codec.errors import UserError
from tts_codec.tts.text_split import split_sentences, split_text


def test_sentences_are_split_at_end_marks_and_kept_whole():
    text = "Hello there. How are you?  I am fine! \"Quoted.\" Done"
    assert split_sentences(text) == ["Hello there.", "How are you?", "I am fine!", "\"Quoted.\"", "Done"]


def test_short_sentences_are_packed_up_to_max_chars():
    chunks = split_text("One two. Three four. Five six seven eight nine.", max_chars=20)
    assert chunks == ["One two. Three four.", "Five six seven eight", "nine."]


def test_a_long_sentence_is_cut_at_clauses_then_spaces_then_hard():
    assert split_text("one, two, three, four", max_chars=10) == ["one, two,", "three,", "four"]
    assert split_text("alpha beta gamma delta", max_chars=11) == ["alpha beta", "gamma delta"]
    assert split_text("a" * 25, max_chars=10) == ["a" * 10, "a" * 10, "a" * 5]


def test_cjk_sentences_split_without_spaces_and_join_without_spaces():
    assert split_text("今天天气很好。我们去公园吧！好的？", max_chars=15) == ["今天天气很好。我们去公园吧！", "好的？"]


def test_zero_keeps_the_text_whole_and_whitespace_is_normalised():
    assert split_text("  A. B.\n C.  ", max_chars=0) == ["A. B. C."]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_refused(text):
    with pytest.raises(UserError, match="empty text"):
        split_text(text)


def test_negative_max_chars_is_refused():
    with pytest.raises(UserError, match="max_chars"):
        split_text("hi", max_chars=-1)
