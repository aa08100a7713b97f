"""Syllable counts: CMUdict first (after a user dictionary), the vowel-group rule for unknown words, Han characters."""
from __future__ import annotations

import pytest

from tts_codec.errors import UserError
from tts_codec.labels.syllables import count_syllables, read_arpabet, vowel_group_syllables, word_syllables


@pytest.mark.parametrize("text,count", [
    ("The birch canoe slid on the smooth planks.", 9),
    ("one two three four five six seven eight nine ten", 11),
    ("We don't like to admit our small faults.", 10),  # don't: CMUdict keeps the apostrophe; our = AW1 ER0
    ("Every library is beautiful", 3 + 3 + 1 + 3),  # CMUdict: EH1 V ER0 IY0 / L AY1 B R EH2 R IY0
    ("", 0),
])
def test_cmudict_counts(text, count):
    assert count_syllables(text) == count


def test_cmudict_beats_the_rule_where_the_rule_is_wrong():
    assert [vowel_group_syllables(w) for w in ("poem", "science", "area")] == [1, 1, 2]
    assert [word_syllables(w) for w in ("poem", "science", "area")] == [2, 2, 3]


def test_unknown_words_digits_and_han_characters():
    assert word_syllables("blorftastic") == vowel_group_syllables("blorftastic") == 3
    assert count_syllables("2024") == 4
    assert count_syllables("你好世界") == 4
    assert count_syllables("你好 world") == 3  # code-switching: Han characters plus English words


def test_user_dictionary_comes_first(tmp_path):
    path = tmp_path / "dict.txt"
    path.write_text(";;; comment\nCANOE  K AH0 N UW1 UW0\nCANOE(1)  K AH0 N UW1\nBLORFT  B L AO1 R F T AH0\n")
    arpabet = read_arpabet(str(path))
    assert arpabet["CANOE"] == ["K", "AH0", "N", "UW1", "UW0"]
    assert count_syllables("canoe blorft", arpabet) == 3 + 2
    assert count_syllables("canoe blorft") == 2 + 1


def test_bad_user_dictionary_is_named(tmp_path):
    with pytest.raises(UserError, match="--syllable_dict .*missing.txt: No such file"):
        read_arpabet(str(tmp_path / "missing.txt"))
    (tmp_path / "empty.txt").write_text(";;; only a comment\n")
    with pytest.raises(UserError, match="no `WORD PHONES...` lines"):
        read_arpabet(str(tmp_path / "empty.txt"))
