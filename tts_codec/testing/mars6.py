"""Test factories for MARS6: a MARS6 tokenizer, and a corpus of SNAC-shaped random tokens (3 levels, strides
4/2/1, 4096 codes) with texts and 256-d x-vectors, written without any audio or codec."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tts_codec.testing.spark_lm import SAMPLE_TEXTS

#: SNAC 24 kHz token streams as `codes_info.json` records them (names are arbitrary: levels follow the strides).
SNAC_STREAMS = (("codes_0", 4), ("codes_1", 2), ("codes_2", 1))
SPEAKER_DIM = 256


def make_mars6_tokenizer(out_dir: str | Path, vocab_size: int = 400) -> Path:
    """A MARS6 tokenizer trained on SAMPLE_TEXTS, saved in `out_dir`."""
    from tts_codec.lm.mars6.text import train_mars6_tokenizer

    train_mars6_tokenizer(list(SAMPLE_TEXTS) * 4, vocab_size, out_dir)
    return Path(out_dir)


def random_levels(steps: int, rng: np.random.Generator, codebook_size: int = 4096) -> list[np.ndarray]:
    """Per-level codes of `steps` patches: (steps,), (2 steps,), (4 steps,)."""
    return [rng.integers(0, codebook_size, size=steps * (4 // stride)) for _, stride in SNAC_STREAMS]


def make_mars6_corpus(root: str | Path, name: str = "train", num_utts: int = 8, seed: int = 0,
                      steps: tuple[int, int] = (6, 14), codebook_size: int = 4096) -> tuple[Path, Path, Path]:
    """A data dir `<root>/data/<name>` (text, utt2spk), tokens in `<root>/codes/<name>` and x-vectors in
    `<root>/xvector/<name>/xvector.scp`. Coarse codes follow the text characters, so a tiny model can learn them.

    Returns:
        (data dir, codes root, x-vector root).
    """
    from tts_codec.data.ark import write_ark
    from tts_codec.data.table import write_table
    from tts_codec.data.token_file import CodesInfo, StreamInfo, TokenWriter

    root = Path(root)
    data, codes, xvec = root / "data" / name, root / "codes" / name, root / "xvector" / name
    data.mkdir(parents=True, exist_ok=True)
    xvec.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    info = CodesInfo(codec="snac", sample_rate=24000, hop_length=512, config_hash="test",
                     streams={n: StreamInfo((-1,), codebook_size, stride=s) for n, s in SNAC_STREAMS})
    text, utt2spk, vectors = {}, {}, {}
    with TokenWriter(codes, info, overwrite=True) as writer:
        for i in range(num_utts):
            spk, sentence = f"spk{i % 2}", SAMPLE_TEXTS[i % len(SAMPLE_TEXTS)]
            utt = f"{spk}_utt{i:03d}"
            n = int(rng.integers(*steps))
            levels = random_levels(n, rng, codebook_size)
            levels[0] = np.resize([ord(c) * 7 % codebook_size for c in sentence.lower()], n)
            writer.add(utt, dict(zip((s for s, _ in SNAC_STREAMS), levels)))
            text[utt], utt2spk[utt] = sentence, spk
            vector = np.random.default_rng(i % 2).standard_normal(SPEAKER_DIM).astype(np.float32)
            vectors[utt] = vector / np.linalg.norm(vector)
    write_table(data / "text", text)
    write_table(data / "utt2spk", utt2spk)
    write_ark(xvec / "xvector.ark", xvec / "xvector.scp", vectors)
    return data, root / "codes", root / "xvector"


class ToneCodec:
    """Builds a stand-in SNAC-shaped codec (3 streams, strides 4/2/1) that decodes any codes to a sine of fixed
    amplitude (0 = silence, to drive the loudness check); `codebook_size` codes per level."""

    @staticmethod
    def build(amplitude: float, codebook_size: int = 16, sample_rate: int = 24000, hop_length: int = 512):
        import torch

        from tts_codec.codecs.base import Codec
        from tts_codec.data.token_file import StreamInfo

        class _Tone(Codec):
            name = "tone"

            def __init__(self):
                super().__init__()
                self.config = {"codec": "tone", "amplitude": amplitude}
                self.sample_rate, self.hop_length = sample_rate, hop_length
                self.scale = torch.nn.Parameter(torch.tensor(float(amplitude)), requires_grad=False)

            @property
            def token_streams(self):
                return {n: StreamInfo((-1,), codebook_size, stride=s) for n, s in SNAC_STREAMS}

            def prepare(self, audio, sample_rate, what="audio"):
                return np.asarray(audio, dtype=np.float32).reshape(-1)

            def encode(self, wav, lengths=None):
                wav = wav.reshape(wav.shape[0] if wav.dim() > 1 else 1, -1)
                frames = wav.shape[1] // hop_length // 4 * 4
                return {n: torch.zeros(wav.shape[0], frames // s, dtype=torch.long) for n, s in SNAC_STREAMS}

            def decode(self, codes):
                frames = codes["codes_2"].shape[1]
                t = torch.arange(frames * hop_length) / sample_rate
                wav = self.scale * torch.sin(2 * np.pi * 220 * t)
                return wav.expand(codes["codes_2"].shape[0], 1, -1)

            @classmethod
            def from_config(cls, cfg):
                return cls()

            @classmethod
            def from_pretrained(cls, model_dir):
                return cls()

            def save_pretrained(self, model_dir):
                raise NotImplementedError

        return _Tone()


class FixedEmbedder:
    """A speaker embedder returning one fixed unit vector (tests: no speaker model)."""

    name = "fixed"

    def __init__(self, dim: int = SPEAKER_DIM):
        self.dim = dim

    def embed(self, audio, sample_rate, what="audio"):
        vector = np.random.default_rng(0).standard_normal(self.dim).astype(np.float32)
        return vector / np.linalg.norm(vector)
