"""tts.sh checks every numeric option once, with one message, and a stage range that selects nothing is an error:
nothing runs (no data/, exp/ or dump/ appears) and the exit status is 2."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.recipes import run_recipe

BAD = [
    (("--stage", "abc"), "--stage must be a whole number >= 1, not 'abc'"),
    (("--stage", "99"), "--stage 99: the stages are 1..12"),
    (("--stage", "0"), "--stage must be a whole number >= 1, not '0'"),
    (("--stage", "5", "--stop_stage", "2"), "--stage 5 --stop_stage 2 selects no stage"),
    (("--stop_stage", "-1"), "--stop_stage must be a whole number >= 1, not '-1'"),
    (("--nj", "0"), "--nj must be a whole number >= 1, not '0'"),
    (("--inference_nj", "2.5"), "--inference_nj must be a whole number >= 1, not '2.5'"),
    (("--nj", "08"), "--nj must be a whole number >= 1, not '08'"),
    (("--ngpu", "-1"), "--ngpu must be a whole number >= 0, not '-1'"),
    (("--num_nodes", "x"), "--num_nodes must be a whole number >= 1, not 'x'"),
    (("--fs", "16k"), "--fs must be a whole number >= 1, not '16k'"),
    (("--codec_max_steps", "0"), "--codec_max_steps must be a whole number >= 1, not '0'"),
    (("--train_threads", "0"), "--train_threads must be a whole number >= 1, not '0'"),
    (("--min_dur", "-0.5"), "--min_dur must be a number of seconds >= 0, not '-0.5'"),
    (("--max_dur", "nan"), "--max_dur must be a number of seconds >= 0, not 'nan'"),
    (("--min_dur", "5", "--max_dur", "2"), "--min_dur 5 must be below --max_dur 2"),
    (("--asr_model_dir", "/nonexistent/whisper"), "--asr_model_dir /nonexistent/whisper: no such directory"),
    (("--speaker_model_dir", "/nonexistent/wavlm"), "--speaker_model_dir /nonexistent/wavlm: no such directory"),
    (("--ssl_model_dir", "/nonexistent/w2v"), "--ssl_model_dir /nonexistent/w2v: no such directory"),
    (("--codec_config", "conf/none.yaml"), "--codec_config conf/none.yaml: no such file"),
    (("--lm_config", "conf/lm.yaml"), "--lm_config conf/lm.yaml: no such file"),
    (("--asr_beam", "0"), "--asr_beam must be a whole number >= 1, not '0'"),
    # a stage the family does not have: an error when nothing else is selected (skipped inside a wider range)
    (("--stage", "9", "--stop_stage", "9"), "--model_family spark: stage(s) 9 do not exist yet for spark"),
    (("--model_family", "mars6", "--stage", "9", "--stop_stage", "9"),
     "--stage 9 --stop_stage 9: stage 9 needs the LM of stage 8"),
    (("--model_family", "mars6", "--stage", "12"), "--stage 12 --stop_stage 12: stage 12 needs the LM of stage 8"),
    # stages 10 (TTS decoding) and 12 (packing) need the LM of stage 8: alone without it an error (skipped inside a
    # wider range)
    (("--stage", "9", "--stop_stage", "10"), "--stage 9 --stop_stage 10: stage 10 needs the LM of stage 8"),
    (("--stage", "12"), "--stage 12 --stop_stage 12: stage 12 needs the LM of stage 8"),
    (("--bpe_vocab_size", "0"), "--bpe_vocab_size must be a whole number >= 1, not '0'"),
    (("--pretrained_llm_dir", "/nonexistent/LLM"), "--pretrained_llm_dir /nonexistent/LLM: no such directory"),
    (("--g2p", "phones"), "--g2p must be none or espeak_ipa, not 'phones'"),
    (("--spark_g2p", "espeak_ipa", "--pretrained_llm_dir", "/nonexistent/LLM"),
     "--g2p espeak_ipa: an official tokenizer (--pretrained_llm_dir) reads plain text"),
    # stage 9 (mars6: preference fine-tuning) starts from the stage-8 LM
    (("--model_family", "mars6", "--stage", "9", "--stop_stage", "10"),
     "stage 9 10 needs the LM of stage 8 (exp/lm_mars6_mini/model/config.yaml"),
    (("--deep_clone_mode", "deep"), "--deep_clone_mode must be none, fixed-ref or per-chunk, not 'deep'"),
    (("--pref_per_spk", "1"), "--pref_per_spk must be a whole number >= 2, not '1'"),
    (("--pref_config", "conf/none.yaml"), "--pref_config conf/none.yaml: no such file"),
    (("--xvector_model_dir", "/nonexistent/wavlm"), "--xvector_model_dir /nonexistent/wavlm: no such directory"),
    (("--model_family", "mars6", "--mars6_lm_config", "conf/none.yaml"), "--lm_config conf/none.yaml: no such file"),
    (("--codec_reference_runs", "conf/none.tsv"), "--codec_reference_runs: conf/none.tsv is not a file"),
    (("--model_family", "mars6", "--mars6_codec_reference_runs", "conf"), "--codec_reference_runs: conf is not a file"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_option_is_one_line_and_runs_nothing(mini_recipe: Path, args: tuple, message: str) -> None:
    proc = run_recipe(mini_recipe, *args, timeout=60)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in proc.stderr and "stage 1: " not in proc.stderr  # the log line of stage 1
    assert not any((mini_recipe / d).exists() for d in ("data", "dump", "exp"))


def test_voxbox_stage_3_keeps_the_corpus_pitch_and_speed_labels(tmp_path: Path) -> None:
    """VoxBox's run.sh passes --keep_corpus_labels true: its metadata labels (local/data.sh) survive stage 3."""
    import json

    from tts_codec.data.datadir import DataDir
    from tts_codec.testing.corpus_recipes import make_fixture_corpus, run_corpus_recipe

    corpus = make_fixture_corpus("voxbox", tmp_path / "corpus")
    tiny = Path(__file__).resolve().parents[2] / "conf" / "train" / "bicodec_tiny.yaml"
    recipe, proc = run_corpus_recipe("voxbox", corpus, tmp_path / "work", "--stop_stage", "3", "--nj", "2",
                                     "--local_data_opts", "--num_dev 2 --languages en", "--codec_config", str(tiny))
    assert proc.returncode == 0
    for dset in ("train", "test"):
        metadata = DataDir.load(recipe / "data" / dset).extra
        dump = recipe / "dump" / "raw" / dset
        labels = DataDir.load(dump).extra
        for name in ("utt2pitch", "utt2speed", "utt2pitch_value", "utt2speed_value"):
            known = {u: v for u, v in metadata[name].items() if v != "unknown"}
            assert known and all(labels[name][u] == v for u, v in known.items()), (dset, name)
        assert json.loads((dump / "attributes_info.json").read_text())["keep_present"] is True
