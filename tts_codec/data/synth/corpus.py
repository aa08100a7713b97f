"""A synthetic multi-speaker corpus as Kaldi data dirs `<out>/{train,dev,test}` (evaluation.md §10).

Splits: train = the seen speakers' training sentences; dev = the same speakers reading sentences that appear in no
training utterance; test = held-out speakers (one of each gender at least) reading held-out sentences.
Sentence rule: after a seeded shuffle of the list, the first n_eval sentences (as many as dev + test read, at most a
quarter of the list) are evaluation sentences that no training utterance reads, so a codec sees them only at test
time and an LM is tested on unseen text; training draws from the rest. With `splice_sentences` every training
utterance reads the first half of its drawn sentence joined to the second half of another training sentence, so an
LM sees about one distinct word sequence per utterance instead of the few hundred training sentences of the list
(it cannot learn them by heart); dev and test are unchanged, byte for byte. `SIZES` names the presets: `small` (the CI
default, about 5 minutes of audio), `large` (16 voices, about 75 minutes, several hundred training sentences) and
`xlarge` / `xxlarge` / `xxxlarge` (the same voices with 4x / 16x / 32x large's training utterances, for LM runs).
Every utterance varies pitch and rate around its speaker's base, so the Spark-TTS pitch/speed levels
(bicodec_spark.md §6) vary too. Everything follows from the seed: the same config gives byte-identical wavs and
tables, and a rerun on the same out dir resumes (finished wavs are kept).
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile
from tqdm import tqdm

from tts_codec.atomic import atomic_write, refuse_to_clobber
from tts_codec.data.audio import write_wav
from tts_codec.data.datadir import DataDir
from tts_codec.data.synth.espeak import Engine, Prosody, get_engine, synthesize
from tts_codec.data.synth.sentences import load_sentences
from tts_codec.data.synth.voices import Speaker, select_speakers
from tts_codec.errors import UserError

log = logging.getLogger(__name__)
SPLITS = ("train", "dev", "test")
INFO_FILE = "synth_info.json"
FORMAT_VERSION = 1
#: per-utterance variation: pitch offset s.d. (eSpeak pitch units) and rate factor s.d. (log scale)
PITCH_SD, RATE_LOG_SD = 12.0, 0.12


@dataclass(frozen=True)
class CorpusConfig:
    """What to synthesise; the CLI flags of `tts-codec-synth` carry the same names."""

    num_speakers: int = 8
    utts_per_speaker: int = 12
    dev_utts_per_speaker: int = 2
    num_test_speakers: int = 2
    sample_rate: int = 16000
    seed: int = 0
    sentences: str = "harvard"
    test_utts_per_speaker: int | None = None  # None: utts_per_speaker
    splice_sentences: bool | None = None  # None/False: training reads whole sentences (`splice`)

    @property
    def test_utts(self) -> int:
        """Utterances each held-out speaker reads."""
        return self.utts_per_speaker if self.test_utts_per_speaker is None else self.test_utts_per_speaker

    def check(self) -> None:
        """Raise a UserError naming the flag that is out of range."""
        if self.utts_per_speaker < 1:
            raise UserError(f"--utts_per_speaker must be >= 1, got {self.utts_per_speaker}")
        if self.test_utts < 1:
            raise UserError(f"--test_utts_per_speaker must be >= 1, got {self.test_utts}")
        if not 0 <= self.dev_utts_per_speaker < self.utts_per_speaker:
            raise UserError(f"--dev_utts_per_speaker must be in 0..{self.utts_per_speaker - 1} "
                            f"(below --utts_per_speaker), got {self.dev_utts_per_speaker}")
        if not 8000 <= self.sample_rate <= 96000:
            raise UserError(f"--sample_rate must be in 8000..96000 Hz, got {self.sample_rate}")
        select_speakers(self.num_speakers, self.num_test_speakers)


#: Named corpus sizes (`--size`): CorpusConfig fields; explicit flags override them.
SIZES: dict[str, dict[str, int]] = {
    # 8 voices x 12 utterances: 96 utterances, about 5 minutes; the CI and `make demo` default.
    "small": {"num_speakers": 8, "utts_per_speaker": 12, "dev_utts_per_speaker": 2, "num_test_speakers": 2},
    # 16 voices: 14 seen x (96 train + 4 dev), 2 held-out x 12 test; about 75 minutes of training audio over
    # several hundred distinct sentences, for codec quality runs (egs/mini/tts1/RESULTS.md).
    "large": {"num_speakers": 16, "utts_per_speaker": 100, "dev_utts_per_speaker": 4, "num_test_speakers": 2,
              "test_utts_per_speaker": 12},
    # The same voices, dev and test sets as `large` (their sentences and the held-out voices' audio are identical)
    # with 4x the training utterances: 14 x 396, about 5 hours, every training sentence read by several voices;
    # for LM runs that overfit `large` (egs/mini/tts1/RESULTS.md).
    "xlarge": {"num_speakers": 16, "utts_per_speaker": 400, "dev_utts_per_speaker": 4, "num_test_speakers": 2,
               "test_utts_per_speaker": 12},
    # 4x xlarge's training utterances (14 x 1596, about 20 hours): every training sentence read about 35 times.
    # Test is xlarge's; dev reads other sentences of the same held-out pool (the training draws use the generator
    # longer), so xlarge's dev is just as unseen by a model trained here and serves to compare the two.
    "xxlarge": {"num_speakers": 16, "utts_per_speaker": 1600, "dev_utts_per_speaker": 4, "num_test_speakers": 2,
                "test_utts_per_speaker": 12},
    # 2x xxlarge (14 x 3196, about 40 hours), meant with `splice_sentences` (about one distinct text per utterance):
    # its first 1596 training texts per voice are xxlarge's (the same draws), read with other prosody; test as above.
    "xxxlarge": {"num_speakers": 16, "utts_per_speaker": 3200, "dev_utts_per_speaker": 4, "num_test_speakers": 2,
                 "test_utts_per_speaker": 12},
}


def sized_config(size: str = "small", **overrides) -> CorpusConfig:
    """The CorpusConfig of preset `size` with `overrides` (None values are ignored)."""
    if size not in SIZES:
        raise UserError(f"--size must be one of {', '.join(SIZES)}, got {size!r}")
    fields = {**SIZES[size], **{k: v for k, v in overrides.items() if v is not None}}
    return CorpusConfig(**fields)


@dataclass(frozen=True)
class Utterance:
    """One planned utterance: id, split, speaker, text and the eSpeak settings that render it."""

    utt_id: str
    split: str
    speaker: Speaker
    text: str
    prosody: Prosody


def _draw(pool: list[str], count: int, rng: np.random.Generator) -> list[str]:
    """`count` sentences from `pool`, without repeats until the pool is used up."""
    out: list[str] = []
    while len(out) < count:
        out += [pool[i] for i in rng.permutation(len(pool))]
    return out[:count]


def splice(first: str, second: str) -> str:
    """The first half of `first`'s words, then the second half of `second`'s: a word sequence no list sentence has,
    in the list's vocabulary (the training text of `splice_sentences`)."""
    head, tail = first.split(), second.split()
    return " ".join(head[: (len(head) + 1) // 2] + tail[len(tail) // 2:])


def _splice_all(texts: list[str], pool: list[str], rng: np.random.Generator) -> list[str]:
    """Each of `texts` spliced with another sentence of `pool` drawn by `rng` (never with itself)."""
    out = []
    for text in texts:
        k = int(rng.integers(len(pool)))
        partner = pool[k] if pool[k] != text else pool[(k + 1) % len(pool)]
        out.append(splice(text, partner))
    return out


def plan_corpus(cfg: CorpusConfig) -> list[Utterance]:
    """Every utterance of the corpus, in speaker then index order; pure function of `cfg` (no audio)."""
    cfg.check()
    seen, held = select_speakers(cfg.num_speakers, cfg.num_test_speakers)
    sentences = list(load_sentences(cfg.sentences))
    np.random.default_rng(cfg.seed).shuffle(sentences)
    n_eval = len(seen) * cfg.dev_utts_per_speaker + len(held) * cfg.test_utts
    n_eval = min(n_eval, len(sentences) // 4)  # train keeps >= 3/4 of the sentences
    eval_pool, train_pool = sentences[:n_eval], sentences[n_eval:]
    plan = []
    for spk in sorted(seen + held, key=lambda s: s.index):
        rng = np.random.default_rng([cfg.seed, spk.index])
        if spk in held:
            texts = [("test", t) for t in _draw(eval_pool, cfg.test_utts, rng)]
        else:
            n_train = cfg.utts_per_speaker - cfg.dev_utts_per_speaker
            train_texts = _draw(train_pool, n_train, rng)
            if cfg.splice_sentences:  # its own generator: dev texts and every prosody draw stay as without it
                train_texts = _splice_all(train_texts, train_pool, np.random.default_rng([cfg.seed, spk.index, 1]))
            texts = [("train", t) for t in train_texts]
            texts += [("dev", t) for t in _draw(eval_pool, cfg.dev_utts_per_speaker, rng)]
        for k, (split, text) in enumerate(texts):
            pitch_delta = int(round(rng.normal(0.0, PITCH_SD)))
            rate_factor = float(np.exp(rng.normal(0.0, RATE_LOG_SD)))
            prosody = spk.voice.prosody(pitch_delta, rate_factor, seed=int(rng.integers(2**31)))
            plan.append(Utterance(f"{spk.id}_{k:04d}", split, spk, text, prosody))
    return plan


def render(utts: list[Utterance], wav_dir: Path, sample_rate: int, engine: Engine, desc: str = "synth") -> dict[str, Path]:
    """Synthesise every utterance to `<wav_dir>/<spk>/<utt>.wav` (kept if already there); returns utt -> path."""
    paths = {}
    for utt in tqdm(utts, desc=desc, unit="utt"):
        path = (wav_dir / utt.speaker.id / f"{utt.utt_id}.wav").resolve()
        if not path.is_file():  # atomic writes: an existing file is complete
            write_wav(path, synthesize(utt.text, utt.prosody, sample_rate, engine), sample_rate)
        paths[utt.utt_id] = path
    return paths


def build_data_dir(utts: list[Utterance], paths: dict[str, Path], sample_rate: int) -> DataDir:
    """The Kaldi tables of one split (wav.scp holds absolute paths; utt2num_samples/utt2dur from the files)."""
    frames = {u.utt_id: soundfile.info(str(paths[u.utt_id])).frames for u in utts}
    extra = {
        "spk2gender": {u.speaker.id: u.speaker.gender for u in utts},
        "utt2gender": {u.utt_id: u.speaker.gender for u in utts},
        "utt2voice": {u.utt_id: u.prosody.voice for u in utts},
        "utt2espeak_rate": {u.utt_id: u.prosody.rate for u in utts},
        "utt2espeak_pitch": {u.utt_id: u.prosody.pitch for u in utts},
        "utt2lang": {u.utt_id: u.speaker.voice.lang for u in utts},
        "utt2num_samples": frames,
        "utt2dur": {k: f"{n / sample_rate:.3f}" for k, n in frames.items()},
    }
    return DataDir(
        wav_scp={u.utt_id: str(paths[u.utt_id]) for u in utts},
        utt2spk={u.utt_id: u.speaker.id for u in utts},
        text={u.utt_id: u.text for u in utts},
        extra=extra,
    )


def _info(cfg: CorpusConfig, engine: Engine, wav_dir: Path) -> dict:
    config = {k: v for k, v in asdict(cfg).items() if v is not None}  # unset options keep older dirs resumable
    return {"format": FORMAT_VERSION, "config": config, "engine": engine.name,
            "engine_version": engine.version, "wav_dir": str(wav_dir)}


def _prepare_out_dir(out_dir: Path, wav_dir: Path, info: dict, overwrite: bool) -> None:
    """Resume a run of the same config; otherwise refuse a non-empty dir unless `overwrite` (then clear our files)."""
    info_path = out_dir / INFO_FILE
    if info_path.is_file() and json.loads(info_path.read_text(encoding="utf-8")) == info:
        log.info("resuming %s (same config and engine)", out_dir)
        return
    refuse_to_clobber(out_dir, overwrite, "synthetic corpus dir")
    for sub in [out_dir / s for s in SPLITS] + [wav_dir]:
        if sub.is_dir():
            shutil.rmtree(sub)
    info_path.unlink(missing_ok=True)


def make_corpus(
    out_dir: str | Path,
    cfg: CorpusConfig = CorpusConfig(),
    wav_dir: str | Path | None = None,
    overwrite: bool = False,
    engine: Engine | None = None,
) -> dict[str, Path]:
    """Synthesise the corpus and write `<out_dir>/{train,dev,test}` Kaldi data dirs.

    Args:
        out_dir: corpus root; also holds `synth_info.json` (config and engine version) for resuming.
        cfg: sizes, sample rate and seed.
        wav_dir: where the wavs go (default `<out_dir>/wav`), one subdirectory per speaker.
        overwrite: replace a non-empty out_dir written with another config.
        engine: an eSpeak engine (default: `get_engine()`).
    Returns:
        split name -> data dir path.
    """
    out_dir = Path(out_dir).resolve()
    wav_dir = Path(wav_dir).resolve() if wav_dir else out_dir / "wav"
    engine = engine or get_engine()
    plan = plan_corpus(cfg)
    info = _info(cfg, engine, wav_dir)
    _prepare_out_dir(out_dir, wav_dir, info, overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / INFO_FILE, "w") as handle:
        json.dump(info, handle, indent=2, sort_keys=True)
    paths = render(plan, wav_dir, cfg.sample_rate, engine)
    dirs = {}
    for split in SPLITS:
        utts = [u for u in plan if u.split == split]
        if utts:
            dirs[split] = build_data_dir(utts, paths, cfg.sample_rate).save(out_dir / split, overwrite=True)
    total = sum(paths[u.utt_id].stat().st_size for u in plan)
    log.info("wrote %d utterances (%.1f MB) to %s: %s", len(plan), total / 1e6, out_dir,
             ", ".join(f"{s} {sum(u.split == s for u in plan)}" for s in dirs))
    return dirs
