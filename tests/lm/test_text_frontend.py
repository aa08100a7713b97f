"""The LM text front end (--g2p): eSpeak IPA phonemes before the BPE, saved in the tokenizer dir and applied by
every loader (training vocab, LLM dir, MARS6 text), plain text when the dir has no front-end file."""
from __future__ import annotations

import json

import pytest

from tts_codec.errors import UserError
from tts_codec.lm.text_frontend import FRONTEND_FILE, TextFrontend, load_text_frontend, save_text_frontend
from tts_codec.testing.spark_lm import SAMPLE_TEXTS


def test_espeak_ipa_turns_words_into_phonemes(espeak_engine):
    frontend = TextFrontend("espeak_ipa")
    phones = frontend("The birch canoe slid on the smooth planks.")
    assert "bˈɜːtʃ" in phones.split() and "plˈæŋks" in phones.split()
    assert "." not in phones and "birch" not in phones
    assert frontend("The birch canoe slid on the smooth planks.") == phones  # cached, and deterministic
    assert TextFrontend()("Keep me.") == "Keep me."


def test_unknown_g2p_and_broken_file_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="--g2p must be one of none, espeak_ipa"):
        TextFrontend("pinyin")
    (tmp_path / FRONTEND_FILE).write_text("[1, 2]")
    with pytest.raises(UserError, match=f"{tmp_path / FRONTEND_FILE}: not a text front end"):
        load_text_frontend(tmp_path)


def test_saved_front_end_round_trips_and_none_writes_nothing(tmp_path):
    save_text_frontend(TextFrontend(), tmp_path / "plain")
    assert not (tmp_path / "plain" / FRONTEND_FILE).exists()
    assert load_text_frontend(tmp_path / "plain") == TextFrontend()
    save_text_frontend(TextFrontend("espeak_ipa", "en-gb-x-rp"), tmp_path / "ipa")
    assert json.loads((tmp_path / "ipa" / FRONTEND_FILE).read_text()) == {"g2p": "espeak_ipa",
                                                                           "language": "en-gb-x-rp"}
    assert load_text_frontend(tmp_path / "ipa") == TextFrontend("espeak_ipa", "en-gb-x-rp")


def test_spark_tokenizer_with_phonemes_encodes_what_the_bpe_learnt(espeak_engine, tmp_path):
    from tts_codec.lm.spark.tokenizer import train_spark_tokenizer
    from tts_codec.lm.spark.vocab import load_spark_vocab

    train_spark_tokenizer(list(SAMPLE_TEXTS) * 4, 320, tmp_path / "ipa", frontend=TextFrontend("espeak_ipa"))
    train_spark_tokenizer(list(SAMPLE_TEXTS) * 4, 320, tmp_path / "plain")
    ipa, plain = load_spark_vocab(tmp_path / "ipa"), load_spark_vocab(tmp_path / "plain")
    text = SAMPLE_TEXTS[0]
    phones = TextFrontend("espeak_ipa")(text)
    assert ipa.frontend.g2p == "espeak_ipa" and plain.frontend.g2p == "none"
    assert ipa.encode_text(text) == list(ipa.tokenizer.encode(phones, add_special_tokens=False))
    assert ipa.tokenizer.decode(ipa.encode_text(text)) == phones  # learnt pieces, no byte fallback junk
    assert plain.tokenizer.decode(plain.encode_text(text)) == text


def test_llm_dir_export_carries_the_front_end(espeak_engine, tmp_path):
    from tts_codec.lm.spark.model import build_lm, export_llm_dir, load_llm_dir
    from tts_codec.lm.spark.tokenizer import train_spark_tokenizer
    from tts_codec.lm.spark.vocab import load_spark_vocab
    from tts_codec.testing.spark_lm import TINY_LM_CONF

    train_spark_tokenizer(list(SAMPLE_TEXTS) * 4, 320, tmp_path / "tok", frontend=TextFrontend("espeak_ipa"))
    vocab = load_spark_vocab(tmp_path / "tok")
    export_llm_dir(build_lm({"lm": "spark", "lm_conf": TINY_LM_CONF}, vocab), tmp_path / "tok", tmp_path / "LLM")
    assert (tmp_path / "LLM" / FRONTEND_FILE).is_file()
    _, loaded = load_llm_dir(tmp_path / "LLM")
    assert loaded.encode_text(SAMPLE_TEXTS[1]) == vocab.encode_text(SAMPLE_TEXTS[1])


def test_mars6_text_applies_the_front_end(espeak_engine, tmp_path):
    from tts_codec.lm.mars6.text import END, Mars6Text, train_mars6_tokenizer

    train_mars6_tokenizer(list(SAMPLE_TEXTS) * 4, 330, tmp_path / "tok", frontend=TextFrontend("espeak_ipa"))
    text = Mars6Text.load(tmp_path / "tok")
    ids = text.encode(SAMPLE_TEXTS[0])
    decoded = text.tokenizer.decode(ids[2:-1])
    assert decoded == TextFrontend("espeak_ipa")(SAMPLE_TEXTS[0]) and ids[-1] == text.tokenizer.convert_tokens_to_ids(END)
