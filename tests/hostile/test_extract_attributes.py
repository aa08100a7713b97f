"""Hostile inputs for extract_attributes (stage 3 attribute labels): each must be refused with one clear message
naming the culprit, exit non-zero, and leave every file as it was (above all the data dir labelled in place and
labels of unknown origin); see tts_codec.testing.hostile."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from tts_codec.testing.hostile import Case, check_case, data_dir, replace_audio, set_line

ENTRY = "extract_attributes"


def _data(ws: Path) -> Path:
    return data_dir(ws, duration=0.5)


def _edited(edit, *extra: str):
    """A setup: ws/data, `edit(data)` applied, labelled in place with `extra` options."""
    def setup(ws: Path) -> list:
        data = _data(ws)
        edit(data)
        return ["--data_dir", data, *extra]
    return setup


def _parts(ws: Path) -> list[Path]:
    """ws/data split in two and each half labelled into ws/parts/part.N (as the recipe's jobs do)."""
    from tts_codec.bin import extract_attributes, split_data

    data = _data(ws)
    split_data.main([str(data), "2"])
    parts = [ws / "parts" / f"part.{j}" for j in (1, 2)]
    for j, part in enumerate(parts, 1):
        assert extract_attributes.main(["--data_dir", str(data / "split2" / str(j)), "--out_dir", str(part)]) == 0
    return parts


def _merge(edit=None):
    """A merge into ws/data of its two labelled parts, `edit(ws, parts)` first (it may return other part args)."""
    def setup(ws: Path) -> list:
        parts = _parts(ws)
        given = edit(ws, parts) if edit else None
        return ["--data_dir", ws / "data", "--merge", *(given if isinstance(given, list) else parts)]
    return setup


def _foreign_labels(data: Path) -> None:
    """A utt2pitch that extract_attributes did not write (no attributes_info.json)."""
    (data / "utt2pitch").write_text("".join(f"{u} high\n" for u in ("spk1-utt1", "spk1-utt2", "spk1-utt3",
                                                                     "spk2-utt1", "spk2-utt2", "spk2-utt3")))


def _silence(data: Path) -> None:
    """Every wav of wav.scp replaced by 0.5 s of digital silence."""
    for line in (data / "wav.scp").read_text().splitlines():
        soundfile.write(line.split(maxsplit=1)[1], np.zeros(8000, dtype=np.float32), 16000)


def _json(ws: Path, text: str) -> Path:
    (ws / "bounds.json").write_text(text)
    return ws / "bounds.json"


CASES = [
    Case(ENTRY, "no_data_dir", lambda ws: ["--data_dir", ws / "nope"], "{ws}/nope"),
    Case(ENTRY, "not_audio", _edited(lambda d: replace_audio(d, "text", 2)), "utterance spk1-utt2"),
    Case(ENTRY, "all_silent", _edited(_silence),
         "{ws}/data: no utterance has voiced speech"),
    Case(ENTRY, "nan_audio", _edited(lambda d: replace_audio(d, "nan", 1)), "non-finite"),
    Case(ENTRY, "missing_wav", _edited(lambda d: set_line(d / "wav.scp", 3, "spk1-utt3 /nonexistent/x.wav")),
         "/nonexistent/x.wav"),
    Case(ENTRY, "bad_gender", _edited(lambda d: set_line(d / "utt2gender", 2, "spk1-utt2 robot")),
         "{ws}/data/utt2gender: entry spk1-utt2"),
    Case(ENTRY, "bad_spk2gender", _edited(lambda d: ((d / "utt2gender").unlink(),
                                                     set_line(d / "spk2gender", 1, "spk1 x"))),
         "{ws}/data/spk2gender: entry spk1"),
    Case(ENTRY, "language_without_boundaries",
         _edited(lambda d: (d / "utt2lang").write_text("".join(
             f"spk{k}-utt{j} fr-FR\n" for k in (1, 2) for j in (1, 2, 3)))), "{ws}/data/utt2lang: spk1-utt1"),
    Case(ENTRY, "lang_option", _edited(lambda d: None, "--lang", "klingon"), "--lang"),
    Case(ENTRY, "boundaries_missing", _edited(lambda d: None, "--attr_boundaries", "/nonexistent/b.json"),
         "--attr_boundaries /nonexistent/b.json"),
    Case(ENTRY, "boundaries_bad_keys", lambda ws: ["--data_dir", _data(ws), "--attr_boundaries",
                                                   _json(ws, '{"speed": {"en": {"low": 1}}}')],
         "{ws}/bounds.json: speed.en needs keys"),
    Case(ENTRY, "syllable_dict_missing", _edited(lambda d: None, "--syllable_dict", "/nonexistent/dict"),
         "--syllable_dict /nonexistent/dict"),
    Case(ENTRY, "foreign_labels", _edited(_foreign_labels), "{ws}/data/utt2pitch exists"),
    Case(ENTRY, "overwrite_value", _edited(lambda d: None, "--overwrite", "maybe"), "--overwrite"),
    Case(ENTRY, "unknown_option", _edited(lambda d: None, "--frobnicate"), "--frobnicate"),
    Case(ENTRY, "merge_with_out_dir", lambda ws: ["--data_dir", _data(ws), "--out_dir", ws / "o", "--merge", ws],
         "--merge writes into --data_dir"),
    Case(ENTRY, "merge_missing_part", _merge(lambda ws, parts: parts[:1]),
         "3 utterances of {ws}/data missing (first spk2-utt1)"),
    Case(ENTRY, "merge_unfinished_part", _merge(lambda ws, parts: (parts[1] / "attributes_info.json").unlink()),
         "{ws}/parts/part.2: no attributes_info.json"),
    Case(ENTRY, "merge_duplicate_part", _merge(lambda ws, parts: [parts[0], *parts]),
         "is also in another part"),
    Case(ENTRY, "merge_other_settings", _merge(lambda ws, parts: (parts[1] / "attributes_info.json").write_text(
        '{"version": 0}')), "{ws}/parts/part.2/attributes_info.json: other settings"),
    Case(ENTRY, "merge_over_foreign_labels", _merge(lambda ws, parts: _foreign_labels(ws / "data")),
         "{ws}/data/utt2pitch exists"),
    Case(ENTRY, "read_only_data_dir", _edited(lambda d: None), "{ws}/data", read_only=("data",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_extract_attributes_refuses(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)
