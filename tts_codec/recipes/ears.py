"""EARS (Expressive Anechoic Recordings of Speech): Kaldi data dirs for TTS, keyed `pXXX_<item>`.

Corpus: 107 speakers, ~100 h, 48 kHz anechoic read, emotional and freeform speech; Richter et al., Interspeech 2024;
https://github.com/facebookresearch/ears_dataset (per-speaker `pXXX.zip` release assets). Licence: CC BY-NC 4.0.
Layout (mars6_snac.md §11): `<root>/pXXX/<item>.wav`, `<root>/transcripts.json` keyed by the item name *without*
the speaker prefix (the same text for every speaker), `<root>/speaker_statistics.json` (pXXX -> age, gender, ...).
Only transcribed items (emo_*_sentences, rainbow_*, sentences_*) enter the TTS sets; freeform and non-verbal
audio have no transcript and are counted and left out. Splits follow the EARS-WHAM benchmark: train p001-p099,
dev p100-p101, test p102-p107 (unseen speakers).
"""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Sequence

from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError
from tts_codec.eval.protocols import parse_speakers
from tts_codec.recipes.download import download, fetch_archive
from tts_codec.recipes.prepared import Skipped, audio_problem, gender_tables, save_sets

log = logging.getLogger(__name__)

URL = "https://github.com/facebookresearch/ears_dataset/releases/download/dataset/{speaker}.zip"
#: the repository files beside the release (transcripts.json, speaker_statistics.json)
REPO_FILES = "https://raw.githubusercontent.com/facebookresearch/ears_dataset/main"
SPEAKERS = tuple(f"p{i:03d}" for i in range(1, 108))
DEFAULT_SPLITS = {"train": "p001-p099", "dev": "p100-p101", "test": "p102-p107"}
#: speaker_statistics.json field -> the spk2<name> file it becomes
STAT_FILES = {"gender": "spk2sex", "age": "spk2age", "ethnicity": "spk2ethnicity",
              "native language": "spk2native_language", "height": "spk2height", "weight": "spk2weight"}
_SPEAKER_DIR = re.compile(r"p\d{3}")
_EMOTION = re.compile(r"emo_([a-z]+)_(sentences|freeform)")
_STYLE = re.compile(r"(?:rainbow|sentences)_\d+_([a-z]+)")


def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"{path}: no such file; is this the EARS root (pXXX/ dirs, transcripts.json, "
                        "speaker_statistics.json)?")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: expected a JSON object at the top level")
    return obj


def item_style(item: str) -> tuple[str, str]:
    """(style, emotion) of an item name: `rainbow_03_slow` -> (slow, neutral), `emo_fear_sentences` ->
    (regular, fear)."""
    if m := _EMOTION.fullmatch(item):
        return "regular", m.group(1)
    if m := _STYLE.fullmatch(item):
        return m.group(1), "neutral"
    return "regular", "neutral"


def _speaker_extras(stats: dict, speakers: set[str], where: Path) -> dict[str, dict[str, str]]:
    """One spk2<field> per statistic (gender as spk2sex: female/male/unknown), values with blanks as `_`."""
    extras: dict[str, dict[str, str]] = {name: {} for name in STAT_FILES.values()}
    for spk in sorted(speakers):
        info = stats.get(spk)
        if not isinstance(info, dict):
            raise UserError(f"{where}: no entry for speaker {spk}")
        for field, name in STAT_FILES.items():
            value = str(info.get(field) or "unknown").strip().lower()
            if field == "gender":
                value = value if value in ("female", "male") else "unknown"
            extras[name][spk] = "_".join(value.split()) or "unknown"
    return extras


def scan_ears(root: str | os.PathLike, speakers: set[str], check_audio: bool = True,
              skipped: Skipped | None = None) -> DataDir:
    """One data dir of the transcribed items of `speakers` found under `root` (untranscribed/unreadable skipped)."""
    root = Path(root)
    transcripts = _load_json(root / "transcripts.json")
    stats = _load_json(root / "speaker_statistics.json")
    skipped = skipped or Skipped("EARS")
    wav_scp, text, utt2spk, style, emotion = {}, {}, {}, {}, {}
    for spk_dir in sorted(p for p in root.iterdir() if p.is_dir() and _SPEAKER_DIR.fullmatch(p.name)):
        if spk_dir.name not in speakers:
            continue
        for wav in sorted(spk_dir.glob("*.wav")):
            utt = f"{spk_dir.name}_{wav.stem}"
            key = utt[len(spk_dir.name) + 1:]  # strip only `pXXX_` (lhotse's split("_")[1] loses the text)
            words = " ".join(str(transcripts.get(key) or "").split())
            if not words:
                skipped.add("no transcript (freeform, non-verbal or missing from transcripts.json)", utt)
                continue
            if check_audio and (problem := audio_problem(str(wav))):
                skipped.add("unreadable audio", problem)
                continue
            wav_scp[utt], text[utt], utt2spk[utt] = str(wav.resolve()), words, spk_dir.name
            style[utt], emotion[utt] = item_style(key)
    extra = _speaker_extras(stats, set(utt2spk.values()), root / "speaker_statistics.json")
    extra.update(gender_tables(utt2spk, extra.pop("spk2sex")))
    extra.update({"utt2style": style, "utt2emotion": emotion, "utt2lang": {u: "en" for u in utt2spk}})
    return DataDir(wav_scp=wav_scp, utt2spk=utt2spk, text=text, extra=extra)


def prepare_ears(root: str | os.PathLike, out_dir: str | os.PathLike, splits: dict[str, str] | None = None,
                 check_audio: bool = True, overwrite: bool = False) -> dict[str, int]:
    """Write `out_dir/<set>` for each set -> speaker range of `splits` (default: DEFAULT_SPLITS).

    Returns:
        set name -> number of utterances written.
    Raises:
        UserError: the root lacks transcripts.json / speaker_statistics.json or any speaker dir, a split is empty.
    """
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"EARS root {root}: no such directory")
    splits = splits or DEFAULT_SPLITS
    ranges = {name: set(parse_speakers(spec)) for name, spec in splits.items()}
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and _SPEAKER_DIR.fullmatch(p.name))
    if not found:
        raise UserError(f"EARS root {root}: no speaker directories p001..p107 (download with --download true)")
    skipped = Skipped("EARS")
    sets = {name: scan_ears(root, spks, check_audio, skipped) for name, spks in ranges.items()}
    unused = sorted(set(found) - set().union(*ranges.values()))
    if unused:
        log.warning("EARS: speakers %s are in no split", ", ".join(unused))
    skipped.log_summary()
    return save_sets(sets, out_dir, overwrite)


def download_ears(root: str | os.PathLike, speakers: Sequence[str], archive_dir: str | os.PathLike,
                  keep_archives: bool = True) -> Path:
    """Fetch transcripts.json, speaker_statistics.json and the per-speaker zips into `root` (resumable; a
    speaker already extracted is not fetched again)."""
    root, archive_dir = Path(root), Path(archive_dir)
    unknown = [spk for spk in speakers if spk not in SPEAKERS]
    if unknown or not speakers:
        raise UserError(f"--speakers: {unknown[0] if unknown else ''!r} is not an EARS speaker (p001..p107)")
    for name in ("transcripts.json", "speaker_statistics.json"):
        download(f"{REPO_FILES}/{name}", root / name)
    for spk in speakers:
        fetch_archive(URL.format(speaker=spk), archive_dir / f"{spk}.zip", root, keep_archive=keep_archives)
    return root
