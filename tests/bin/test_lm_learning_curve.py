"""LM learning curves end to end: a tiny LM run keeps two checkpoints; each is exported, clones a list with the tiny
codec, is scored (WER, SIM-o) and plotted; a rerun scores nothing again; bad inputs are named."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tts_codec.bin import codec_tokenize, lm_learning_curve, train_lm, train_text_tokenizer
from tts_codec.cli import run_main
from tts_codec.eval import learning_curve as lc
from tts_codec.testing.codec_dirs import save_tiny_model
from tts_codec.testing.spark_lm import make_lm_corpus
from tts_codec.testing.spark_tts import make_tts_test_set

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lm_run")
    train, codes = make_lm_corpus(root, "train", num_utts=8)
    tok = root / "tok"
    assert train_text_tokenizer.main(["--text", str(train), "--vocab_size", "300", "--output_dir", str(tok)]) == 0
    config = root / "lm.yaml"
    config.write_text(f"base: {REPO / 'conf' / 'lm' / 'spark_tiny.yaml'}\n"
                      "trainer: {checkpoint_every_n_steps: 1, keep_checkpoints: 5, val_check_interval: 1000}\n")
    exp = root / "exp"
    assert train_lm.main(["--config", str(config), "--train_data", str(train), "--codes_dir", str(codes),
                          "--tokenizer_dir", str(tok), "--output_dir", str(exp), "--max_steps", "2"]) == 0
    return exp


def test_every_checkpoint_is_scored_plotted_and_not_scored_again(lm_run, tmp_path):
    codec = save_tiny_model(tmp_path / "codec")
    data, lists = make_tts_test_set(tmp_path / "set")
    assert codec_tokenize.main(["--model_dir", str(codec), "--data_dir", str(data), "--out_dir",
                                str(tmp_path / "codes")]) == 0
    out = tmp_path / "curves"
    args = ["--run_dir", str(lm_run), "--name", "tiny", "--codec_dir", str(codec), "--meta_lst",
            str(lists / "meta.lst"), "--max_utts", "2", "--out_dir", str(out), "--asr_beam_size", "1",
            "--max_new_tokens", "20", "--codes_dir", str(tmp_path / "codes")]
    assert run_main(lm_learning_curve.main, args) == 0
    rows = lc.read_curve(out / "tiny" / "curve.tsv")
    assert [r["batches"] for r in rows] == [1, 2]
    for row in rows:
        assert row["wer"] is not None and row["wer"] >= 0 and -1 <= row["sim_o"] <= 1 and row["refused"] == 0
        assert row["own_text_loss"] > 0 and abs(row["text_gain"]) < row["own_text_loss"]
        point = out / "tiny" / row["checkpoint"]
        assert (point / "LLM" / "model.safetensors").is_file()
        scp = (point / "decode" / "wav" / "wav.scp").read_text().split()
        assert len(scp) == 4 and all(Path(p).is_file() for p in scp[1::2])  # points at the moved dir
    assert len((out / "meta.lst").read_text().splitlines()) == 2
    gt = json.loads((out / "ground_truth" / "summary.json").read_text())["metrics"]
    assert gt["sim_o"]["mean"] > 0.5  # the list's own target audio against its prompt (same speaker)
    assert (out / "lm_learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    stamp = (out / "tiny" / rows[0]["checkpoint"] / "curve_point.json").stat().st_mtime_ns
    assert run_main(lm_learning_curve.main, args) == 0
    assert (out / "tiny" / rows[0]["checkpoint"] / "curve_point.json").stat().st_mtime_ns == stamp
    other = list(args)
    other[other.index("--max_utts") + 1] = "3"
    assert run_main(lm_learning_curve.main, other) == 2  # another list into the same --out_dir


def test_bad_inputs_are_named(lm_run, tmp_path, capsys):
    import numpy as np
    import soundfile

    wav = tmp_path / "p.wav"
    soundfile.write(wav, np.zeros(1600, np.float32), 16000)
    meta = tmp_path / "meta.lst"
    meta.write_text(f"u1|hi|{wav}|there\n")
    base = ["--run_dir", str(lm_run), "--codec_dir", str(tmp_path), "--out_dir", str(tmp_path / "out")]
    assert run_main(lm_learning_curve.main, base + ["--meta_lst", str(meta)]) == 2
    assert "5th field" in capsys.readouterr().err
    meta.write_text(f"u1|hi|{wav}|there|{tmp_path / 'missing.wav'}\n")
    assert run_main(lm_learning_curve.main, base + ["--meta_lst", str(meta)]) == 2
    assert f"{meta}:1" in capsys.readouterr().err  # every wav of the list must exist
    meta.write_text(f"u1|hi|{wav}|there|{wav}\n")
    assert run_main(lm_learning_curve.main, base[:2] + ["--codec_dir", str(tmp_path / "nope"), *base[4:],
                                                        "--meta_lst", str(meta)]) == 2
    assert "--codec_dir" in capsys.readouterr().err
    assert run_main(lm_learning_curve.main, ["--run_dir", str(tmp_path), *base[2:], "--meta_lst", str(meta)]) == 2
    assert "no config.yaml" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ---- MARS6 runs ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mars6_run(tmp_path_factory) -> tuple[Path, Path]:
    """(run dir, SNAC dir): a tiny MARS6 trained 2 steps on SNAC-shaped tokens, a checkpoint after each."""
    from tts_codec.testing.mars6 import make_mars6_corpus, make_mars6_tokenizer
    from tts_codec.testing.mars6_dirs import make_snac_dir

    root = tmp_path_factory.mktemp("mars6_run")
    train, codes, xvec = make_mars6_corpus(root, "train", 6)
    tok = make_mars6_tokenizer(root / "tok")
    config = root / "lm.yaml"
    config.write_text(f"base: {REPO / 'egs' / 'mini' / 'tts1' / 'conf' / 'mars6_tiny.yaml'}\n"
                      "lm_conf: {dim: 32, ffn: 64, encoder_layers: 1, global_layers: 1}\n"
                      "trainer: {checkpoint_every_n_steps: 1, keep_checkpoints: 5, val_check_interval: 1000}\n")
    exp = root / "exp"
    assert train_lm.main(["--config", str(config), "--train_data", str(train), "--codes_dir", str(codes),
                          "--xvector_dir", str(xvec), "--tokenizer_dir", str(tok), "--output_dir", str(exp),
                          "--max_steps", "2"]) == 0
    return exp, make_snac_dir(root / "snac")


def test_a_mars6_run_gets_a_curve_row_per_checkpoint(mars6_run, tmp_path):
    import math

    exp, snac = mars6_run
    data, lists = make_tts_test_set(tmp_path / "set")
    assert codec_tokenize.main(["--model_dir", str(snac), "--data_dir", str(data), "--out_dir",
                                str(tmp_path / "codes")]) == 0
    out = tmp_path / "curves"
    args = ["--run_dir", str(exp), "--name", "m6", "--codec_dir", str(snac), "--meta_lst", str(lists / "meta.lst"),
            "--max_utts", "2", "--out_dir", str(out), "--asr_beam_size", "1", "--codes_dir", str(tmp_path / "codes")]
    assert run_main(lm_learning_curve.main, args) == 0
    rows = lc.read_curve(out / "m6" / "curve.tsv")
    assert [r["batches"] for r in rows] == [1, 2]
    for row in rows:
        assert math.isfinite(row["wer"]) and row["wer"] >= 0 and -1 <= row["sim_o"] <= 1
        assert math.isfinite(row["text_gain"]) and row["own_text_loss"] > 0 and row["refused"] is None
        point = out / "m6" / row["checkpoint"]
        assert (point / "model" / "model.safetensors").is_file() and (point / "model" / "tokenizer.json").is_file()
        info = json.loads((point / "decode" / "decode_info.json").read_text())
        assert info["options"]["deep_clone_mode"] == "none" and info["options"]["seed"] == 0  # stage 10's
        scp = (point / "decode" / "wav" / "wav.scp").read_text().split()
        assert len(scp) == 4 and all(Path(p).is_file() for p in scp[1::2])
    assert rows[0]["own_text_loss"] != rows[1]["own_text_loss"]  # each checkpoint's own weights
    assert (out / "lm_learning_curve.png").read_bytes()[:4] == b"\x89PNG"
