"""The synthetic corpus written in the on-disk layout of real corpora, so dataset recipes run without downloads.

- EARS (mars6_snac.md §11): `p001/<key>.wav` at 48 kHz, one flat `transcripts.json` of all 115 keys *without* the
  speaker prefix (the same text for every speaker), `speaker_statistics.json`; freeform audio has no transcript.
- LibriSpeech (recipes.md §8.1): `LibriSpeech/<part>/<reader>/<chapter>/<reader>-<chapter>-<NNNN>.flac` (16 kHz),
  `<reader>-<chapter>.trans.txt` in upper case, `SPEAKERS.TXT`/`CHAPTERS.TXT`/`BOOKS.TXT` (pipe-separated, `;`
  comments). Splits map train -> train-clean-100, dev -> dev-clean, test -> test-clean; unlike the real corpus,
  dev-clean readers are training readers (our dev split = seen speakers, unseen sentences).
- VoxBox (recipes.md §8.2 and the SparkAudio/VoxBox README): `metadata/<corpus>.jsonl` and
  `audios/<corpus>/<corpus>_NNNN.tar.gz` WebDataset shards whose members are `<index>.flac`, index like
  `ESPEAK_0000000000` (upper-case corpus name, as `VCTK_0000044280` lives under `vctk/`). Unverified and chosen as
  the most plausible: the tar member naming, `wav_path` = `<corpus>/<index>.flac`, 16 kHz FLAC, dev mapped to
  split "test". `syllables` holds eSpeak IPA words (no offline ARPAbet G2P); `pitch` is the pyin mean voiced F0.
"""
from __future__ import annotations

import gzip
import io
import json
import re
import shutil
import tarfile
from dataclasses import replace
from pathlib import Path
from typing import Callable

import librosa
import numpy as np
import soundfile
import soxr
from tqdm import tqdm

from tts_codec.atomic import atomic_path, atomic_write, refuse_to_clobber
from tts_codec.data.audio import write_wav
from tts_codec.data.synth.corpus import CorpusConfig, make_corpus, plan_corpus
from tts_codec.data.synth.espeak import Engine, get_engine, synthesize
from tts_codec.data.synth.sentences import load_sentences
from tts_codec.data.synth.voices import Speaker, select_speakers
from tts_codec.data.table import write_lines
from tts_codec.errors import UserError

EARS_SR, LIBRISPEECH_SR, VOXBOX_SR = 48000, 16000, 16000
EARS_STYLES = ("fast", "highpitch", "loud", "lowpitch", "regular", "slow", "whisper")
EARS_EMOTIONS = ("adoration", "amazement", "amusement", "anger", "confusion", "contentment", "cuteness", "desire",
                 "disappointment", "disgust", "distress", "embarassment", "extasy", "fear", "guilt", "interest",
                 "neutral", "pain", "pride", "realization", "relief", "sadness", "serenity")  # EARS spellings (sic)
#: style -> (pitch offset, rate factor, volume); whisper also switches to the whisper/whisperf variant
EARS_STYLE_PROSODY = {"regular": (0, 1.0, 100), "loud": (4, 1.0, 140), "whisper": (0, 0.95, 100),
                      "highpitch": (25, 1.0, 100), "lowpitch": (-25, 1.0, 100), "fast": (0, 1.35, 100),
                      "slow": (0, 0.7, 100)}
LIBRISPEECH_PARTS = {"train": "train-clean-100", "dev": "dev-clean", "test": "test-clean"}
CHAPTER_SIZE = 8
_IPA_VOWELS = set("aeiouyæɐɑɒɔəɚɛɜɝɞɤɨɪʉʊʌʏøœɯ")


def _clear(out_dir: Path, overwrite: bool, ours: list[str]) -> None:
    refuse_to_clobber(out_dir, overwrite, "corpus dir")
    for name in ours:
        for path in out_dir.glob(name):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)


def _write_json(path: Path, obj) -> None:
    with atomic_write(path, "w") as handle:
        json.dump(obj, handle, indent=4, ensure_ascii=False)
        handle.write("\n")


def _flac_bytes(wav: np.ndarray, sr: int) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, wav, sr, format="FLAC", subtype="PCM_16")
    return buf.getvalue()


# ---------------------------------------------------------------- EARS
def ears_keys() -> list[str]:
    """The 115 transcribed EARS item names, sorted as in the real transcripts.json."""
    keys = [f"emo_{e}_sentences" for e in EARS_EMOTIONS]
    keys += [f"rainbow_{n:02d}_{s}" for n in range(1, 9) for s in EARS_STYLES]
    keys += [f"sentences_{n:02d}_{s}" for n in (1, 2) for s in EARS_STYLES]
    single = ["whisper", "whisper", "loud", "loud", "slow", "slow", "fast", "fast", "highpitch", "highpitch",
              "lowpitch", "lowpitch"] + ["regular"] * 10
    keys += [f"sentences_{n:02d}_{s}" for n, s in enumerate(single, start=3)]
    return sorted(keys)


def _ears_item(key: str) -> tuple[str, str]:
    """`rainbow_03_slow` -> (`rainbow_03`, `slow`); `emo_fear_sentences` -> (`emo_fear`, `regular`)."""
    if key.startswith("emo_"):
        return key.rsplit("_", 1)[0], "regular"
    item, style = key.rsplit("_", 1)
    return item, style


def write_ears(out_dir: str | Path, cfg: CorpusConfig, engine: Engine, overwrite: bool = False) -> Path:
    """EARS layout: `cfg.utts_per_speaker` transcribed items (the same for every speaker) + one freeform file each."""
    out_dir = Path(out_dir)
    _clear(out_dir, overwrite, ["p[0-9][0-9][0-9]", "transcripts.json", "speaker_statistics.json"])
    rng = np.random.default_rng(cfg.seed)
    sentences = list(load_sentences(cfg.sentences))
    rng.shuffle(sentences)
    keys = ears_keys()
    items = sorted({_ears_item(k)[0] for k in keys})
    texts = {item: " ".join(sentences[2 * i: 2 * i + 2]) for i, item in enumerate(items)}  # 2 sentences each
    transcripts = {k: texts[_ears_item(k)[0]] for k in keys}
    chosen = [keys[i] for i in rng.permutation(len(keys))[: min(cfg.utts_per_speaker, len(keys))]]
    freeform = " ".join(sentences[2 * len(items): 2 * len(items) + 3])
    seen, held = select_speakers(cfg.num_speakers, cfg.num_test_speakers)
    stats = {}
    for spk in tqdm(sorted(seen + held, key=lambda s: s.index), desc="ears", unit="spk"):
        pid = f"p{spk.index:03d}"
        spk_rng = np.random.default_rng([cfg.seed, spk.index])
        for key in chosen + ["freeform_speech_01"]:
            style = _ears_item(key)[1] if key in transcripts else "regular"
            pitch, rate, volume = EARS_STYLE_PROSODY[style]
            prosody = spk.voice.prosody(pitch + int(spk_rng.integers(-5, 6)), rate, seed=int(spk_rng.integers(2**31)),
                                        volume=volume)
            if style == "whisper":
                lang = spk.voice.voice.partition("+")[0]
                prosody = replace(prosody, voice=f"{lang}+{'whisperf' if spk.gender == 'f' else 'whisper'}")
            text = transcripts.get(key, freeform)
            write_wav(out_dir / pid / f"{key}.wav", synthesize(text, prosody, EARS_SR, engine), EARS_SR)
        stats[pid] = {"age": "26-35", "ethnicity": "prefer not to answer",
                      "gender": "female" if spk.gender == "f" else "male", "weight": "140 - 160 lbs",
                      "native language": "american english" if spk.voice.lang == "en-us" else "british english",
                      "height": "5'8 - 5'11"}
    _write_json(out_dir / "transcripts.json", transcripts)
    _write_json(out_dir / "speaker_statistics.json", stats)
    return out_dir


# ---------------------------------------------------------------- LibriSpeech
def librispeech_text(text: str) -> str:
    """LibriSpeech transcript style: upper case, no punctuation but apostrophes."""
    return " ".join(re.sub(r"[^A-Z' ]+", " ", text.upper().replace("-", " ")).split())


def _reader(spk: Speaker) -> int:
    return 100 + spk.index


def write_librispeech(out_dir: str | Path, cfg: CorpusConfig, engine: Engine, overwrite: bool = False) -> Path:
    """LibriSpeech layout under `<out_dir>/LibriSpeech`; returns that directory."""
    out_dir = Path(out_dir)
    _clear(out_dir, overwrite, ["LibriSpeech"])
    root = out_dir / "LibriSpeech"
    plan = plan_corpus(cfg)
    speakers, chapters = {}, []
    bar = tqdm(total=len(plan), desc="librispeech", unit="utt")
    for part_no, (split, part) in enumerate(LIBRISPEECH_PARTS.items()):
        for spk in sorted({u.speaker for u in plan if u.split == split}, key=lambda s: s.index):
            utts = [u for u in plan if u.split == split and u.speaker == spk]
            reader = _reader(spk)
            speakers.setdefault(reader, (spk, part))
            for k in range(0, len(utts), CHAPTER_SIZE):
                chapter = reader * 100 + part_no * 10 + k // CHAPTER_SIZE
                chap_dir = root / part / str(reader) / str(chapter)
                lines, seconds = [], 0.0
                for n, utt in enumerate(utts[k: k + CHAPTER_SIZE]):
                    uid = f"{reader}-{chapter}-{n:04d}"
                    wav = synthesize(utt.text, utt.prosody, LIBRISPEECH_SR, engine)
                    with atomic_path(chap_dir / f"{uid}.flac") as tmp:
                        soundfile.write(tmp, wav, LIBRISPEECH_SR, format="FLAC", subtype="PCM_16")
                    lines.append(f"{uid} {librispeech_text(utt.text)}")
                    seconds += len(wav) / LIBRISPEECH_SR
                    bar.update()
                write_lines(chap_dir / f"{reader}-{chapter}.trans.txt", lines)
                chapters.append((chapter, reader, seconds / 60, part))
    bar.close()
    _write_librispeech_tables(root, speakers, chapters)
    return root


def _write_librispeech_tables(root: Path, speakers: dict, chapters: list) -> None:
    minutes = {r: sum(c[2] for c in chapters if c[1] == r) for r in speakers}
    write_lines(root / "SPEAKERS.TXT", [
        "; Synthetic eSpeak NG readers in the LibriSpeech SPEAKERS.TXT format (tts_codec.data.synth.layouts)",
        ";ID  |SEX| SUBSET           |MINUTES| NAME",
    ] + [f"{r:<5}| {s.gender.upper()} | {p:<16} | {minutes[r]:5.2f} | eSpeak {s.voice.voice}"
         for r, (s, p) in sorted(speakers.items())])
    write_lines(root / "CHAPTERS.TXT", [
        "; Synthetic chapters in the LibriSpeech CHAPTERS.TXT format (column set unverified)",
        ";ID    |READER|MINUTES| SUBSET           | PROJ.|BOOK ID| CH. TITLE | PROJECT TITLE",
    ] + [f"{c:<7}| {r:<5}| {m:5.2f} | {p:<16} | 1    | 1     | Harvard sentences | Synthetic corpus"
         for c, r, m, p in sorted(chapters)])
    write_lines(root / "BOOKS.TXT", [";ID    |BOOK TITLE", "1      | Harvard sentences (IEEE 1969)"])


# ---------------------------------------------------------------- VoxBox
def count_syllables(ipa: str) -> int:
    """Vowel groups in an IPA string (a diphthong counts once)."""
    return len(re.findall(f"[{''.join(sorted(_IPA_VOWELS))}]+", ipa.replace("ː", "")))


def voiced_f0(wav: np.ndarray, sr: int) -> np.ndarray:
    """F0 (Hz) of the voiced frames, by pyin on an 8 kHz copy with a coarse grid (~0.1 s per 3 s of speech).

    Returns:
        float array, shape (num_voiced_frames,); 16 ms hop.
    """
    x = soxr.resample(wav, sr, 8000) if sr != 8000 else wav
    f0, voiced, _ = librosa.pyin(x, fmin=50, fmax=500, sr=8000, frame_length=512, hop_length=128,
                                 n_thresholds=20, resolution=0.2)
    return f0[voiced & np.isfinite(f0)]


def voxbox_attributes(wav: np.ndarray, sr: int, ipa: str) -> dict:
    """pitch (mean voiced F0, Hz), pitch_std (s.d. of min-max normalised F0), speed (syllables / speech seconds)."""
    f0 = voiced_f0(wav, sr)
    norm = (f0 - f0.min()) / max(float(np.ptp(f0)), 1e-6) if f0.size else np.zeros(1)
    _, (start, end) = librosa.effects.trim(wav, top_db=35)
    speech = max((end - start) / sr, 1e-3)
    syllables = count_syllables(ipa)
    return {"pitch": round(float(f0.mean()) if f0.size else 0.0, 3), "pitch_std": round(float(norm.std()), 3),
            "speed": round(syllables / speech, 1), "duration": round(len(wav) / sr, 2),
            "speech_duration": round(speech, 3), "syllable_num": syllables}


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add bytes with zero mtime and no owner names, so equal input gives a byte-identical shard."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    tar.addfile(info, io.BytesIO(data))


def write_voxbox(out_dir: str | Path, cfg: CorpusConfig, engine: Engine, overwrite: bool = False,
                 corpus: str = "espeak", shard_size: int = 64) -> Path:
    """VoxBox layout: metadata/<corpus>.jsonl + audios/<corpus>/<corpus>_NNNN.tar.gz of `shard_size` clips each."""
    out_dir = Path(out_dir)
    _clear(out_dir, overwrite, [f"metadata/{corpus}.jsonl", f"audios/{corpus}"])
    plan, records = plan_corpus(cfg), []
    bar = tqdm(total=len(plan), desc="voxbox", unit="utt")
    for start in range(0, len(plan), shard_size):
        shard = out_dir / "audios" / corpus / f"{corpus}_{start // shard_size:04d}.tar.gz"
        with atomic_write(shard, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for i, utt in enumerate(plan[start: start + shard_size], start=start):
                index = f"{corpus.upper()}_{i:010d}"
                wav = synthesize(utt.text, utt.prosody, VOXBOX_SR, engine)
                _add_member(tar, f"{index}.flac", _flac_bytes(wav, VOXBOX_SR))
                ipa = engine.phonemize(utt.text, utt.prosody.voice)
                records.append({
                    "index": index, "split": "train" if utt.split == "train" else "test", "language": "en",
                    "age": "Youth-Adult", "gender": "female" if utt.speaker.gender == "f" else "male",
                    "emotion": "UNKNOWN", **voxbox_attributes(wav, VOXBOX_SR, ipa), "text": utt.text,
                    "syllables": ipa, "wav_path": f"{corpus}/{index}.flac"})
                bar.update()
    bar.close()
    write_lines(out_dir / "metadata" / f"{corpus}.jsonl", [json.dumps(r, ensure_ascii=False) for r in records])
    return out_dir


LAYOUTS: dict[str, Callable[..., Path]] = {"ears": write_ears, "librispeech": write_librispeech, "voxbox": write_voxbox}


def write_layout(layout: str, out_dir: str | Path, cfg: CorpusConfig = CorpusConfig(), overwrite: bool = False,
                 engine: Engine | None = None) -> Path:
    """Write the corpus in `layout` (kaldi, ears, librispeech or voxbox) under `out_dir`; returns the corpus root."""
    engine = engine or get_engine()
    if layout == "kaldi":
        make_corpus(out_dir, cfg, overwrite=overwrite, engine=engine)
        return Path(out_dir)
    if layout not in LAYOUTS:
        raise UserError(f"--layout must be one of kaldi, {', '.join(LAYOUTS)}; got {layout!r}")
    return LAYOUTS[layout](out_dir, cfg, engine, overwrite=overwrite)
