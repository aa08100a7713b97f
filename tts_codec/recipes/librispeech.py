"""LibriSpeech (OpenSLR 12): Kaldi data dirs per subset, FLAC read directly, readers as TTS speakers.

Corpus: ~1000 h of 16 kHz read English audiobooks (LibriVox), Panayotov et al., ICASSP 2015;
https://www.openslr.org/12 (`<subset>.tar.gz`, md5 below). Licence: CC BY 4.0.
Layout (recipes.md §8.1): `<root>/<subset>/<reader>/<chapter>/<reader>-<chapter>-<NNNN>.flac`, one
`<reader>-<chapter>.trans.txt` per chapter (`<utt> <UPPER CASE TEXT>`), `<root>/SPEAKERS.TXT` (`;` comments,
`reader | sex | subset | minutes | name`). Data dirs use underscores (`data/test_clean`); utt2spk maps to the
reader (Kaldi's ASR recipe uses reader-chapter); spk2gender comes from SPEAKERS.TXT.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Sequence

from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError
from tts_codec.recipes.download import fetch_archive
from tts_codec.recipes.prepared import Skipped, audio_problem, gender_tables, save_sets

log = logging.getLogger(__name__)

URL = "https://www.openslr.org/resources/12/{subset}.tar.gz"
#: the publisher's md5 of each subset archive (openslr.org/resources/12/md5sum.txt)
MD5 = {
    "dev-clean": "42e2234ba48799c1f50f24a7926300a1",
    "dev-other": "c8d0bcc9cca99d4f8b62fcc847357931",
    "test-clean": "32fa31d27d2e1cad72775fee3f4849a9",
    "test-other": "fb5a50374b501bb3bac4815ee91d3135",
    "train-clean-100": "2a93770f6d5c6c964bc36631d331a522",
    "train-clean-360": "c0e676e450a7ff2f54aeade5171606fa",
    "train-other-500": "d1a0fd59409feb2c614ce4d30c387708",
}
SUBSETS = tuple(MD5)
_UTT = re.compile(r"(\d+)-(\d+)-(\d+)")


def set_name(subset: str) -> str:
    """`train-clean-100` -> `train_clean_100` (the Kaldi data dir name)."""
    return subset.replace("-", "_")


def check_subsets(subsets: Sequence[str]) -> list[str]:
    """The subsets, each one of SUBSETS (UserError naming the first unknown one)."""
    for subset in subsets:
        if subset not in SUBSETS:
            raise UserError(f"--subsets: unknown LibriSpeech subset {subset!r}; choose from {', '.join(SUBSETS)}")
    if not subsets:
        raise UserError("--subsets: name at least one LibriSpeech subset")
    return list(subsets)


def read_speakers(path: Path) -> dict[str, str]:
    """reader id -> female/male from SPEAKERS.TXT (pipe-separated, `;` comments)."""
    if not path.is_file():
        raise UserError(f"{path}: no such file (every LibriSpeech archive ships it beside the subset dirs)")
    genders = {}
    for num, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) < 2 or not fields[0].isdigit() or fields[1].upper() not in ("F", "M"):
            raise UserError(f"{path}:{num}: expected `reader | F or M | ...`, got {line.strip()!r}")
        genders[fields[0]] = "female" if fields[1].upper() == "F" else "male"
    return genders


def _chapter_lines(trans: Path) -> list[tuple[str, str]]:
    """(utt, text) of one trans.txt; a malformed line is an error naming the file and line."""
    out = []
    for num, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), 1):
        utt, _, words = line.strip().partition(" ")
        if not _UTT.fullmatch(utt) or not words.strip():
            raise UserError(f"{trans}:{num}: expected `<reader>-<chapter>-<NNNN> TEXT`, got {line.strip()!r}")
        out.append((utt, " ".join(words.split())))
    return out


def scan_subset(root: Path, subset: str, genders: dict[str, str], check_audio: bool, skipped: Skipped) -> DataDir:
    """The data dir of one subset directory; utterances without audio, unreadable or without a transcript
    are skipped and counted."""
    part = root / subset
    if not part.is_dir():
        raise UserError(f"LibriSpeech subset {part}: no such directory (download it with --download true)")
    wav_scp, text, utt2spk = {}, {}, {}
    for trans in sorted(part.glob("*/*/*.trans.txt")):
        lines = _chapter_lines(trans)
        for utt, words in lines:
            flac = trans.parent / f"{utt}.flac"
            if not flac.is_file():
                skipped.add("transcript without audio", str(flac))
            elif check_audio and (problem := audio_problem(str(flac))):
                skipped.add("unreadable audio", problem)
            else:
                wav_scp[utt], text[utt], utt2spk[utt] = str(flac.resolve()), words, utt.split("-")[0]
        listed = {utt for utt, _ in lines}
        for flac in trans.parent.glob("*.flac"):
            if flac.stem not in listed:
                skipped.add("audio without transcript", str(flac))
    spks = sorted(set(utt2spk.values()))
    missing = [s for s in spks if s not in genders]
    if missing:
        log.warning("LibriSpeech: %d readers of %s are not in SPEAKERS.TXT (gender unknown), first %s",
                    len(missing), subset, missing[0])
    extra = {**gender_tables(utt2spk, genders), "utt2chapter": {u: "-".join(u.split("-")[:2]) for u in utt2spk}, "utt2lang": {u: "en" for u in utt2spk}}
    return DataDir(wav_scp=wav_scp, utt2spk=utt2spk, text=text, extra=extra)


def prepare_librispeech(root: str | os.PathLike, out_dir: str | os.PathLike, subsets: Sequence[str],
                        check_audio: bool = True, overwrite: bool = False) -> dict[str, int]:
    """Write `out_dir/<subset with underscores>` for each subset of `root` (the `LibriSpeech/` directory).

    Returns:
        data dir name -> number of utterances written.
    """
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"LibriSpeech root {root}: no such directory")
    genders = read_speakers(root / "SPEAKERS.TXT")
    skipped = Skipped("LibriSpeech")
    sets = {set_name(s): scan_subset(root, s, genders, check_audio, skipped) for s in check_subsets(subsets)}
    skipped.log_summary()
    return save_sets(sets, out_dir, overwrite)


def download_librispeech(root_parent: str | os.PathLike, subsets: Sequence[str], archive_dir: str | os.PathLike,
                         keep_archives: bool = True) -> Path:
    """Fetch and extract the subsets (md5-checked, resumable) so that `root_parent/LibriSpeech/<subset>` exists;
    returns the LibriSpeech directory."""
    root_parent, archive_dir = Path(root_parent), Path(archive_dir)
    for subset in check_subsets(subsets):
        fetch_archive(URL.format(subset=subset), archive_dir / f"{subset}.tar.gz", root_parent,
                      checksum=f"md5:{MD5[subset]}", keep_archive=keep_archives)
    return root_parent / "LibriSpeech"
