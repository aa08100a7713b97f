"""The mini recipe's codec config really learns: a brief training run resynthesises held-out speakers' speech
measurably better than the same model untrained (issue 9). Not a falling training loss: the codec is judged on
eSpeak speech of speakers it never saw, through its inference path (encode -> tokens -> decode)."""
from pathlib import Path

import numpy as np
import pytest
import torch
from pystoi import stoi

from tts_codec.codecs.bicodec import BiCodec
from tts_codec.config import load_config
from tts_codec.data.datadir import DataDir
from tts_codec.eval.mel_distance import mel_distance
from tts_codec.testing.corpus import make_mini_corpus
from tts_codec.train.registry import fit_from_config

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "egs" / "mini" / "tts1" / "conf" / "bicodec_tiny.yaml"
STEPS = 40


def resynthesis_scores(model: BiCodec, data: DataDir) -> tuple[float, float]:
    """Mean (mel distance, STOI) of encode -> decode against the original, over the utterances of `data`."""
    mels, stois = [], []
    with torch.inference_mode():
        for utt in data.utt_ids:
            audio = model.prepare(data.load_audio(utt, model.sample_rate), model.sample_rate)
            wav = model.decode(model.encode(torch.from_numpy(audio)[None]))[0, 0].numpy()
            n = min(len(wav), len(audio))
            mels.append(mel_distance(audio[:n], wav[:n], model.sample_rate))
            stois.append(stoi(audio[:n], wav[:n], model.sample_rate, extended=False))
    return float(np.mean(mels)), float(np.mean(stois))


@pytest.mark.slow
def test_brief_training_beats_the_untrained_codec_on_held_out_speakers(tmp_path):
    root = make_mini_corpus(tmp_path, sr=16000, n_per_voice=5, num_speakers=6, dev_per_voice=1)
    test = DataDir.load(root / "test")  # 2 held-out speakers
    config = load_config(DEMO_CONFIG)
    config["trainer"].update(val_check_interval=10_000, checkpoint_every_n_steps=10_000, log_every_n_steps=10)
    config["data"].update(batch_size=4, segment_duration=0.96)  # CI budget: a quarter of the audio per batch
    codec = {k: config[k] for k in ("codec", "sample_rate", "codec_conf", "ssl_conf")}
    torch.manual_seed(int(config.get("seed", 0)))
    untrained = resynthesis_scores(BiCodec.from_config(codec).eval(), test)
    task = fit_from_config(config, tmp_path / "exp", root / "train", None, max_steps=STEPS)
    trained = resynthesis_scores(task.generator.eval(), test)
    print(f"held-out resynthesis after {STEPS} batches: mel distance {untrained[0]:.3f} -> {trained[0]:.3f}, "
          f"STOI {untrained[1]:.3f} -> {trained[1]:.3f}")
    # Measured (seed 1234, torch 2.13 CPU, 33 s of CPU): mel distance 1.980 -> 1.466 (-26 %), STOI 0.450 -> 0.555.
    assert trained[0] < 0.85 * untrained[0]
    assert trained[1] > untrained[1] + 0.05
