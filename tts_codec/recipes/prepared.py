"""What every corpus preparation shares: items skipped for a reason are counted (and logged), audio that cannot be
read is found before it reaches a data dir, and the prepared sets are written as validated Kaldi data dirs."""
from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path
from typing import Mapping

from tts_codec.data.audio import audio_info
from tts_codec.data.datadir import DataDir
from tts_codec.data.ops import save_new_data_dir
from tts_codec.errors import UserError

log = logging.getLogger(__name__)


class Skipped:
    """Counts of items left out, by reason, with the first example of each (for one summary line per reason)."""

    def __init__(self, corpus: str) -> None:
        self.corpus, self.counts, self.examples = corpus, Counter(), {}

    def add(self, reason: str, item: str) -> None:
        self.counts[reason] += 1
        self.examples.setdefault(reason, item)

    def log_summary(self) -> None:
        for reason, count in sorted(self.counts.items()):
            log.warning("%s: %d items skipped: %s (first: %s)", self.corpus, count, reason, self.examples[reason])

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def audio_problem(spec: str) -> str | None:
    """None when `spec` opens as audio with samples, else the reason (a missing, empty or corrupt file)."""
    try:
        audio_info(spec)
    except UserError as err:
        return str(err)
    return None


def save_sets(sets: Mapping[str, DataDir], out_root: str | os.PathLike, overwrite: bool) -> dict[str, int]:
    """Write each set as `out_root/<name>` (built aside, validated, swapped in); returns name -> utterances.

    Raises:
        UserError: a set came out empty (naming it), before anything is written.
    """
    empty = [name for name, data in sets.items() if not len(data)]
    if empty:
        raise UserError(f"set {empty[0]!r} has no utterances: check the corpus root and the selection options")
    for name, data in sets.items():
        save_new_data_dir(data, Path(out_root) / name, [], overwrite)
        log.info("wrote %s: %d utterances, %d speakers", Path(out_root) / name, len(data), len(data.speakers))
    return {name: len(data) for name, data in sets.items()}


def gender_tables(utt2spk: Mapping[str, str], spk2gender: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`utt2gender` (female/male/unknown, what stage 3 reads) and, when every speaker's gender is known, Kaldi's
    `spk2gender` (m/f; Kaldi's validator allows no other value)."""
    genders = {u: spk2gender.get(s, "unknown") for u, s in utt2spk.items()}
    tables = {"utt2gender": genders}
    if all(spk2gender.get(s) in ("female", "male") for s in utt2spk.values()):
        tables["spk2gender"] = {s: spk2gender[s][0] for s in set(utt2spk.values())}
    return tables
