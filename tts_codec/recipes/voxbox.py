"""VoxBox (SparkAudio/voxbox on the Hugging Face hub): Kaldi data dirs read from the WebDataset shards in place.

Corpus: ~100k h of zh/en speech from 29 open corpora re-transcribed and tagged for Spark-TTS (Wang et al. 2025,
arXiv 2503.01710); https://huggingface.co/datasets/SparkAudio/voxbox. Licence: CC BY-NC-SA 4.0 (each source corpus
keeps its own terms too).
Layout (recipes.md §8.2): `<root>/metadata/<corpus>.jsonl` (one record per clip: index, split, language, age,
gender, emotion, pitch, pitch_std, speed, duration, speech_duration, syllable_num, text, syllables, wav_path) and
`<root>/audios/<corpus>/*.tar.gz` shards whose members are `<index>.<ext>`. Audio stays in the shards
(`tar_index`). Every record field becomes a Kaldi extra file (`utt2<field>`; language -> `utt2lang`, the raw
pitch/speed -> `utt2pitch_hz`/`utt2speed_sps`), and pitch/speed are binned into Spark's attribute levels
(`utt2pitch`, `utt2speed`, `utt2pitch_value`, `utt2speed_value`, `utt2gender`; bicodec_spark.md §6). Records carry
no speaker, so each utterance is its own speaker. Sets: `train`, `dev` (a fixed hash-chosen sample of the train
split) and `test` (the records of split "test").
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Sequence

import soundfile

from tts_codec.attributes import DEFAULT_BOUNDARIES
from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError
from tts_codec.labels.pitch import pitch_level, pitch_value
from tts_codec.labels.speed import language_key, speed_level, speed_value
from tts_codec.recipes.prepared import Skipped, save_sets
from tts_codec.recipes.tar_index import Member, index_shards

log = logging.getLogger(__name__)

REPO_ID = "SparkAudio/voxbox"
AUDIO_EXTS = ("flac", "wav", "mp3", "ogg", "opus")
#: record field -> extra file, where it is not utt2<field>
RENAMED = {"language": "utt2lang", "pitch": "utt2pitch_hz", "speed": "utt2speed_sps"}
_FIELD = re.compile(r"[a-z][a-z0-9_]*")


def list_corpora(root: Path) -> list[str]:
    """The sub-corpora that have a metadata file."""
    return sorted(p.stem for p in (root / "metadata").glob("*.jsonl"))


def read_records(path: Path, skipped: Skipped) -> list[dict]:
    """The records of one metadata file; a line that is not a JSON object is an error naming file and line."""
    records = []
    for num, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as err:
            raise UserError(f"{path}:{num}: not a JSON record ({err})") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("index"), str) or not rec["index"].strip():
            raise UserError(f"{path}:{num}: a record needs a string `index`")
        if not " ".join(str(rec.get("text") or "").split()):
            skipped.add("no text", f"{path.name}:{num}")
            continue
        records.append(rec)
    return records


def spark_labels(rec: dict) -> dict[str, str]:
    """Spark attribute labels of one record from its metadata (`unknown` where a value is missing)."""
    gender = str(rec.get("gender", "")).strip().lower()
    gender = gender if gender in ("female", "male") else "unknown"
    labels = {"utt2gender": gender, "utt2pitch": "unknown", "utt2pitch_value": "unknown", "utt2speed": "unknown",
              "utt2speed_value": "unknown"}
    f0, sps, lang = rec.get("pitch"), rec.get("speed"), language_key(str(rec.get("language", "")))
    if isinstance(f0, (int, float)) and f0 > 0:
        labels["utt2pitch_value"] = str(pitch_value(f0))
        if gender != "unknown":
            labels["utt2pitch"] = pitch_level(f0, DEFAULT_BOUNDARIES["pitch"][gender])
    if isinstance(sps, (int, float)) and sps >= 0:
        labels["utt2speed_value"] = str(speed_value(sps))
        if lang in DEFAULT_BOUNDARIES["speed"]:
            labels["utt2speed"] = speed_level(sps, DEFAULT_BOUNDARIES["speed"][lang])
    return labels


def _value(value) -> str:
    """A record value as one table value: blanks collapsed, lists joined, empty -> unknown."""
    text = " ".join(map(str, value)) if isinstance(value, list) else str(value)
    return " ".join(text.split()) or "unknown"


def _audio_ok(member: Member) -> bool:
    try:
        with soundfile.SoundFile(member.fileobj()) as snd:
            return snd.frames > 0
    except (soundfile.SoundFileError, RuntimeError, OSError):
        return False


def _dev_utts(train: Sequence[str], num_dev: int) -> set[str]:
    """A fixed sample of `num_dev` train utterances (smallest sha1 of the id), independent of file order."""
    return set(sorted(train, key=lambda u: hashlib.sha1(u.encode()).hexdigest())[:num_dev])


def prepare_voxbox(root: str | os.PathLike, out_dir: str | os.PathLike, cache_dir: str | os.PathLike,
                   corpora: Sequence[str] = (), languages: Sequence[str] = (), num_dev: int = 500,
                   check_audio: bool = True, overwrite: bool = False) -> dict[str, int]:
    """Write `out_dir/{train,dev,test}` from the selected sub-corpora (all if empty) and languages (all if empty).

    Returns:
        set name -> number of utterances written.
    """
    root, cache_dir = Path(root), Path(cache_dir)
    available = list_corpora(root) if root.is_dir() else []
    if not available:
        raise UserError(f"VoxBox root {root}: no metadata/<corpus>.jsonl files")
    unknown = [c for c in corpora if c not in available]
    if unknown:
        raise UserError(f"--corpora: {unknown[0]!r} has no metadata file in {root / 'metadata'}; "
                        f"available: {', '.join(available)}")
    skipped, by_split = Skipped("VoxBox"), {"train": {}, "test": {}}
    for corpus in corpora or available:
        shards = sorted((root / "audios" / corpus).glob("*.tar*"))
        members = index_shards(shards, cache_dir / corpus, AUDIO_EXTS)
        for rec in read_records(root / "metadata" / f"{corpus}.jsonl", skipped):
            utt = rec["index"].strip()
            if languages and language_key(str(rec.get("language", ""))) not in languages:
                continue
            if rec.get("split") not in by_split:
                skipped.add("split is neither train nor test", utt)
            elif utt not in members:
                skipped.add("audio not in the downloaded shards", utt)
            elif check_audio and not _audio_ok(members[utt]):
                skipped.add("unreadable audio", utt)
            else:
                by_split[rec["split"]][utt] = (corpus, rec, members[utt])
    skipped.log_summary()
    dev = _dev_utts(list(by_split["train"]), num_dev)
    sets = {"train": {u: v for u, v in by_split["train"].items() if u not in dev},
            "dev": {u: v for u, v in by_split["train"].items() if u in dev}, "test": by_split["test"]}
    return save_sets({name: _data_dir(items) for name, items in sets.items()}, out_dir, overwrite)


def _data_dir(items: dict[str, tuple[str, dict, Member]]) -> DataDir:
    """A data dir of (corpus, record, member) items: every record field as an extra file."""
    fields = sorted({f for _, rec, _ in items.values() for f in rec if _FIELD.fullmatch(f)} - {"index", "text"})
    extra: dict[str, dict[str, str]] = {RENAMED.get(f, f"utt2{f}"): {} for f in fields}
    extra["utt2corpus"] = {}
    for name in spark_labels({}):
        extra[name] = {}
    wav_scp, text = {}, {}
    for utt, (corpus, rec, member) in items.items():
        wav_scp[utt], text[utt] = member.pipe_spec(), _value(rec["text"])
        extra["utt2corpus"][utt] = corpus
        for f in fields:
            extra[RENAMED.get(f, f"utt2{f}")][utt] = _value(rec.get(f, ""))
        for name, value in spark_labels(rec).items():
            extra[name][utt] = value
    return DataDir(wav_scp=wav_scp, utt2spk={u: u for u in items}, text=text, extra=extra)


def download_voxbox(root: str | os.PathLike, corpora: Sequence[str]) -> Path:
    """Fetch the metadata and shards of `corpora` (all if empty) from the hub into `root` with huggingface_hub,
    which resumes interrupted files and skips complete ones. Needs HF_HUB_OFFLINE=0 (the recipes' path.sh sets 1)."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise UserError("downloading VoxBox needs the network: run with HF_HUB_OFFLINE=0")
    from huggingface_hub import snapshot_download  # lazy: only downloads need it

    patterns = [p for c in corpora for p in (f"metadata/{c}.jsonl", f"audios/{c}/*")] or ["metadata/*", "audios/*"]
    snapshot_download(REPO_ID, repo_type="dataset", allow_patterns=patterns, local_dir=str(root))
    return Path(root)
