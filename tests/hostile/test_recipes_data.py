"""Hostile inputs for the corpus recipes' stage-1 verbs (prepare_corpus, download_corpus): each must be refused
with one clear message naming the culprit, exit non-zero, and leave every file as it was
(tts_codec.testing.hostile). Skipped items (no transcript, unreadable audio) are not errors; tests/recipes covers
them, and the corrupt-archive path, which moves the archive aside on purpose."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tts_codec.testing.hostile import Case, bad_numbers, check_case

PREP, DOWN = "prepare_corpus", "download_corpus"


def _ears(ws: Path, transcripts: str | None = '{"sentences_01_regular": "A short sentence."}',
          stats: str | None = '{"p001": {"gender": "female"}}') -> Path:
    """A one-speaker EARS root ws/ears (p001, one tone) with the given metadata files (None: left out)."""
    root = ws / "ears"
    (root / "p001").mkdir(parents=True)
    soundfile.write(root / "p001" / "sentences_01_regular.wav", np.zeros(4800, dtype=np.float32), 48000)
    for name, text in (("transcripts.json", transcripts), ("speaker_statistics.json", stats)):
        if text is not None:
            (root / name).write_text(text)
    return root


def _ears_args(root: Path, ws: Path) -> list:
    return ["ears", "--root", root, "--out_dir", ws / "data", "--train", "p001", "--dev", "p001", "--test", "p001"]


def _librispeech(ws: Path, speakers: str = "101|F|dev-clean|1.0|x\n") -> Path:
    root = ws / "LibriSpeech"
    chapter = root / "dev-clean" / "101" / "10100"
    chapter.mkdir(parents=True)
    soundfile.write(chapter / "101-10100-0000.flac", np.zeros(1600, dtype=np.float32), 16000)
    (chapter / "101-10100.trans.txt").write_text("101-10100-0000 HELLO\n")
    (root / "SPEAKERS.TXT").write_text(speakers)
    return root


def _voxbox(ws: Path, lines: list[str]) -> Path:
    (ws / "vb" / "metadata").mkdir(parents=True)
    (ws / "vb" / "metadata" / "c.jsonl").write_text("".join(ln + "\n" for ln in lines))
    return ws / "vb"


def _numbers(entry: str, option: str, argv) -> list[Case]:
    return [Case(entry, f"{option.strip('-')}_{name}", lambda ws, v=value: argv(ws, v), option)
            for name, value in bad_numbers(option) if not (option == "--num_dev" and value == "0")]


CASES = [
    Case(PREP, "ears_no_root", lambda ws: _ears_args(ws / "nope", ws), "{ws}/nope: no such directory"),
    Case(PREP, "ears_no_transcripts", lambda ws: _ears_args(_ears(ws, transcripts=None), ws),
         "{ws}/ears/transcripts.json: no such file"),
    Case(PREP, "ears_no_statistics", lambda ws: _ears_args(_ears(ws, stats=None), ws),
         "{ws}/ears/speaker_statistics.json: no such file"),
    Case(PREP, "ears_bad_json", lambda ws: _ears_args(_ears(ws, transcripts="{oops"), ws),
         "transcripts.json: not valid JSON"),
    Case(PREP, "ears_json_list", lambda ws: _ears_args(_ears(ws, stats="[1, 2]"), ws),
         "speaker_statistics.json: expected a JSON object"),
    Case(PREP, "ears_speaker_not_in_statistics", lambda ws: _ears_args(_ears(ws, stats='{"p002": {}}'), ws),
         "no entry for speaker p001"),
    Case(PREP, "ears_everything_untranscribed", lambda ws: _ears_args(_ears(ws, transcripts="{}"), ws),
         "set 'train' has no utterances"),
    Case(PREP, "ears_no_speaker_dirs", lambda ws: ["ears", "--root", ws, "--out_dir", ws / "data"],
         "no speaker directories"),
    Case(PREP, "librispeech_unknown_subset",
         lambda ws: ["librispeech", "--root", _librispeech(ws), "--out_dir", ws / "d", "--subsets", "dev-clear"],
         "unknown LibriSpeech subset 'dev-clear'"),
    Case(PREP, "librispeech_missing_subset",
         lambda ws: ["librispeech", "--root", _librispeech(ws), "--out_dir", ws / "d", "--subsets", "test-clean"],
         "{ws}/LibriSpeech/test-clean: no such directory"),
    Case(PREP, "librispeech_bad_speakers_line",
         lambda ws: ["librispeech", "--root", _librispeech(ws, "101|female|x\n"), "--out_dir", ws / "d",
                     "--subsets", "dev-clean"], "SPEAKERS.TXT:1"),
    Case(PREP, "librispeech_bad_transcript",
         lambda ws: ["librispeech", "--root", _trans(ws, "101-10100-0000\n"), "--out_dir", ws / "d",
                     "--subsets", "dev-clean"], "101-10100.trans.txt:1"),
    Case(PREP, "voxbox_no_cache_dir", lambda ws: ["voxbox", "--root", _voxbox(ws, []), "--out_dir", ws / "d"],
         "--cache_dir"),
    Case(PREP, "voxbox_no_metadata", lambda ws: ["voxbox", "--root", ws, "--out_dir", ws / "d", "--cache_dir",
                                                 ws / "c"], "no metadata/<corpus>.jsonl"),
    Case(PREP, "voxbox_bad_record", lambda ws: ["voxbox", "--root", _voxbox(ws, ['{"index": "A_1"}', "[1]"]),
                                                "--out_dir", ws / "d", "--cache_dir", ws / "c"],
         "c.jsonl:2: a record needs a string `index`"),
    Case(PREP, "voxbox_unknown_corpus", lambda ws: ["voxbox", "--root", _voxbox(ws, []), "--out_dir", ws / "d",
                                                    "--cache_dir", ws / "c", "--corpora", "VCTK"], "'VCTK'"),
    Case(PREP, "unknown_corpus", lambda ws: ["timit", "--root", ws, "--out_dir", ws / "d"], "timit"),
    *_numbers(PREP, "--num_dev", lambda ws, v: ["voxbox", "--root", ws, "--out_dir", ws / "d", "--num_dev", v]),
    Case(DOWN, "url_without_dest", lambda ws: ["url", "--url", "http://127.0.0.1:9/x"], "--dest"),
    Case(DOWN, "bad_checksum_spelling", lambda ws: ["url", "--url", "http://127.0.0.1:9/x", "--dest", ws / "x",
                                                    "--checksum", "crc32:abcd"], "crc32:abcd"),
    Case(DOWN, "connection_refused", lambda ws: ["url", "--url", "http://127.0.0.1:9/x", "--dest", ws / "x",
                                                 "--retries", "1"], "http://127.0.0.1:9/x: failed after 2 attempts"),
    Case(DOWN, "librispeech_unknown_subset", lambda ws: ["librispeech", "--root", ws, "--archive_dir", ws,
                                                         "--subsets", "train-clean-999"], "'train-clean-999'"),
    Case(DOWN, "ears_unknown_speaker", lambda ws: ["ears", "--root", ws / "e", "--archive_dir", ws / "z",
                                                   "--speakers", "p200"], "'p200' is not an EARS speaker"),
    Case(DOWN, "ears_without_archive_dir", lambda ws: ["ears", "--root", ws], "--archive_dir"),
    Case(DOWN, "voxbox_offline", lambda ws: ["voxbox", "--root", ws / "vb"], "HF_HUB_OFFLINE=0"),
    *_numbers(DOWN, "--retries", lambda ws, v: ["url", "--url", "http://127.0.0.1:9/x", "--dest", ws / "x",
                                                "--retries", v]),
]


def _trans(ws: Path, line: str) -> Path:
    root = _librispeech(ws)
    (root / "dev-clean" / "101" / "10100" / "101-10100.trans.txt").write_text(line)
    return root


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_recipe_data_verbs_refuse(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path)
