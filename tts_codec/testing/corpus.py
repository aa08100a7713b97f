"""Test factory: a tiny synthetic eSpeak corpus (Kaldi data dirs) built once per config and copied per test.

The build is deterministic, so it is cached under `$TTS_CODEC_TEST_CACHE` (default: the system temp dir) keyed by
its config and the engine version; each call copies the cached corpus into the caller's tmp dir and rewrites
wav.scp, so tests may modify their copy freely.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from tts_codec.data.synth.corpus import INFO_FILE, SPLITS, CorpusConfig, make_corpus
from tts_codec.data.synth.espeak import get_engine
from tts_codec.data.table import read_table, write_table


def _cache_root() -> Path:
    return Path(os.environ.get("TTS_CODEC_TEST_CACHE") or Path(tempfile.gettempdir()) / "tts_codec_test_cache")


def cached_corpus(cfg: CorpusConfig) -> Path:
    """Build (or reuse) the corpus of `cfg` in the cache; safe when several processes ask at once."""
    engine = get_engine()
    key = hashlib.sha1(json.dumps([asdict(cfg), engine.name, engine.version], sort_keys=True).encode()).hexdigest()
    root = _cache_root() / "synth_corpus" / key[:16]
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / ".complete").is_file():
            make_corpus(root, cfg, overwrite=True, engine=engine)
            (root / ".complete").touch()
    return root


def make_mini_corpus(
    tmp_dir: str | Path,
    sr: int = 16000,
    n_per_voice: int = 3,
    num_speakers: int = 4,
    num_test_speakers: int = 2,
    dev_per_voice: int = 1,
    seed: int = 0,
) -> Path:
    """A small corpus in `<tmp_dir>/synth_corpus` with data dirs `train`, `dev`, `test` and wavs under `wav/`.

    Args:
        tmp_dir: the test's own directory (e.g. pytest's tmp_path).
        sr: sample rate of the wavs (16000 for BiCodec, 24000 for SNAC).
        n_per_voice: utterances per speaker; seen speakers put `dev_per_voice` of them in dev, the rest in train.
        num_speakers: voices from the table (genders alternate); the last `num_test_speakers` form test.
        seed: corpus seed.
    Returns:
        the corpus root; e.g. `DataDir.load(root / "train")`.
    """
    cfg = CorpusConfig(num_speakers=num_speakers, utts_per_speaker=n_per_voice, dev_utts_per_speaker=dev_per_voice,
                       num_test_speakers=num_test_speakers, sample_rate=sr, seed=seed)
    src = cached_corpus(cfg).resolve()
    dst = Path(tmp_dir).resolve() / "synth_corpus"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".complete"))
    for split in SPLITS:
        scp = dst / split / "wav.scp"
        if scp.is_file():
            table = read_table(scp)
            write_table(scp, {u: str(dst / Path(p).relative_to(src)) for u, p in table.items()})
    info = json.loads((dst / INFO_FILE).read_text(encoding="utf-8"))
    info["wav_dir"] = str(dst / "wav")  # so make_corpus(dst, cfg) resumes instead of refusing
    (dst / INFO_FILE).write_text(json.dumps(info, indent=2, sort_keys=True), encoding="utf-8")
    return dst
