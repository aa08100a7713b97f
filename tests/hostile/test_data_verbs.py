"""Hostile inputs for the data-dir verbs, stage 2 (format_audio) and the codes merge: each must be refused with one
clear message naming the culprit, exit non-zero, and leave every file as it was (tts_codec.testing.hostile)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.datadirs import BREAKAGES
from tts_codec.testing.hostile import Case, bad_numbers, check_case, data_dir, replace_audio, set_line


def _data(ws: Path, **kwargs) -> Path:
    return data_dir(ws, **kwargs)


def _broken(edit, **kwargs):
    """A setup that makes ws/data, applies `edit(data)`, and returns [data]."""
    def setup(ws: Path) -> list:
        data = _data(ws, **kwargs)
        edit(data)
        return [data]
    return setup


def _taken(ws: Path) -> Path:
    (ws / "taken").mkdir()
    (ws / "taken" / "keep.txt").write_text("precious\n")
    return ws / "taken"


def _ro_parent(ws: Path) -> Path:
    (ws / "ro").mkdir()
    return ws / "ro"


def _numbers(entry: str, option: str, argv) -> list[Case]:
    """One case per bad value of `option`; argv(ws, value) builds the arguments."""
    return [Case(entry, f"{option.strip('-')}_{name}", lambda ws, v=value: argv(ws, v), option)
            for name, value in bad_numbers(option)]


def _unknown_option(entry: str, argv) -> Case:
    return Case(entry, "unknown_option", lambda ws: [*argv(ws), "--frobnicate"], "--frobnicate")


THREE_FIELDS = lambda d: set_line(d / "utt2spk", 1, "spk1-utt1 spk1 extra")  # noqa: E731
BAD_UTF8 = lambda name: lambda d: set_line(d / name, 2, b"spk1-utt2 caf\xe9")  # noqa: E731
BREAKAGE_CULPRITS = {
    "unsorted": "{ws}/data/utt2spk:2", "duplicate": "{ws}/data/text:2", "missing_file": "{ws}/data/spk2utt",
    "bad_utf8": "{ws}/data/text:2", "not_audio": "{ws}/data/wav.scp:2", "empty_text": "{ws}/data/text:2",
    "speaker_prefix": "{ws}/data/utt2spk:4", "extra_utterance": "{ws}/data/text:7",
    "missing_utterance": "(utt2spk line 2) is missing",
}
assert set(BREAKAGE_CULPRITS) == set(BREAKAGES), "a new breakage needs its culprit here"


def _strict(setup):
    """The arguments of `setup` plus --strict (the project's checks beyond Kaldi's)."""
    return lambda ws: [*setup(ws), "--strict"]


def _pipe(command: str):
    return lambda d: set_line(d / "wav.scp", 1, f"spk1-utt1 {command} |")


VALIDATE = [
    # --strict: empty text, text that is not UTF-8 and unreadable audio pass Kaldi's checks (the default)
    *[Case("validate_data_dir", f"breakage_{kind}", _strict(_broken(BREAKAGES[kind])), culprit)
      for kind, culprit in BREAKAGE_CULPRITS.items()],
    *[Case("validate_data_dir", f"audio_{kind}", _strict(_broken(lambda d, k=kind: replace_audio(d, k))),
           "{ws}/data/wav.scp:1") for kind in ("empty", "text", "truncated_header", "zero_samples")],
    Case("validate_data_dir", "audio_one_sample", _strict(_broken(lambda d: replace_audio(d, "one_sample"))),
         "{ws}/data/utt2num_samples:1"),
    Case("validate_data_dir", "utt2spk_three_fields", _broken(THREE_FIELDS), "{ws}/data/utt2spk:1"),
    Case("validate_data_dir", "utt2spk_bad_utf8", _broken(BAD_UTF8("utt2spk")), "{ws}/data/utt2spk:2"),
    Case("validate_data_dir", "pipe_fails", _strict(_broken(_pipe("false"))), "{ws}/data/wav.scp:1"),
    Case("validate_data_dir", "pipe_never_ends",
         lambda ws: [*_broken(_pipe("sleep 30"))(ws), "--strict", "--pipe_timeout", "0.5"],
         "did not finish within 0.5 s"),
    Case("validate_data_dir", "missing_dir", lambda ws: [ws / "nope"], "{ws}/nope"),
    Case("validate_data_dir", "dir_is_a_file", lambda ws: [_data(ws) / "text"], "{ws}/data/text"),
    *_numbers("validate_data_dir", "--pipe_timeout", lambda ws, v: [_data(ws), "--pipe_timeout", v]),
    _unknown_option("validate_data_dir", lambda ws: [_data(ws)]),
]

FIX = [
    Case("fix_data_dir", "missing_dir", lambda ws: [ws / "nope"], "{ws}/nope"),
    Case("fix_data_dir", "nothing_in_common", _broken(lambda d: (d / "text").write_text("zz-1 hi\n")),
         "no utterance is in every table"),
    Case("fix_data_dir", "utt2spk_bad_utf8", _broken(BAD_UTF8("utt2spk")), "{ws}/data/utt2spk:2"),
    Case("fix_data_dir", "read_only_dir", lambda ws: [_data(ws)], "{ws}/data", read_only=("data",)),
    _unknown_option("fix_data_dir", lambda ws: [_data(ws)]),
]


def _subset(*opts):
    return lambda ws: [*opts, _data(ws), ws / "out"]


SUBSET = [
    Case("subset_data_dir", "dest_is_src", lambda ws: ["--first", 2, _data(ws), ws / "data"],
         "{ws}/data is also an input"),
    Case("subset_data_dir", "dest_inside_src", lambda ws: ["--first", 2, _data(ws), ws / "data" / "sub"],
         "{ws}/data/sub lies inside input"),
    Case("subset_data_dir", "src_inside_dest", lambda ws: ["--overwrite", "true", "--first", 2, _data(ws), ws],
         "contains input"),
    *_numbers("subset_data_dir", "--first", lambda ws, v: _subset("--first", v)(ws)),
    *_numbers("subset_data_dir", "--last", lambda ws, v: _subset("--last", v)(ws)),
    Case("subset_data_dir", "first_too_many", _subset("--first", 99), "--first 99"),
    Case("subset_data_dir", "no_selection", _subset(), "--utt_list"),
    Case("subset_data_dir", "utt_list_missing", lambda ws: _subset("--utt-list", ws / "nope.list")(ws),
         "{ws}/nope.list: no such file"),
    Case("subset_data_dir", "utt_list_unknown_ids",
         lambda ws: (ws / "ids").write_text("nobody\n") and _subset("--utt-list", ws / "ids")(ws),
         "{ws}/ids: none of its ids"),
    Case("subset_data_dir", "dest_exists", lambda ws: ["--first", 2, _data(ws), _taken(ws)], "{ws}/taken already"),
    Case("subset_data_dir", "read_only_parent", lambda ws: ["--first", 2, _data(ws), _ro_parent(ws) / "out"],
         "{ws}/ro", read_only=("ro",)),
    Case("subset_data_dir", "src_three_fields", lambda ws: ["--first", 2, *_broken(THREE_FIELDS)(ws), ws / "out"],
         "{ws}/data/utt2spk:1"),
    _unknown_option("subset_data_dir", _subset("--first", 2)),
]

COPY = [
    Case("copy_data_dir", "dest_is_src", lambda ws: [_data(ws), ws / "data"], "{ws}/data is also an input"),
    Case("copy_data_dir", "utt_prefix_whitespace", lambda ws: ["--utt-prefix", "a b", _data(ws), ws / "out"],
         "--utt_prefix 'a b'"),
    Case("copy_data_dir", "dest_exists", lambda ws: [_data(ws), _taken(ws)], "{ws}/taken already"),
    Case("copy_data_dir", "read_only_parent", lambda ws: [_data(ws), _ro_parent(ws) / "out"], "{ws}/ro",
         read_only=("ro",)),
    Case("copy_data_dir", "src_missing", lambda ws: [ws / "nope", ws / "out"], "{ws}/nope"),
    Case("copy_data_dir", "src_bad_utf8", lambda ws: [*_broken(BAD_UTF8("text"))(ws), ws / "out"],
         "{ws}/data/text:2"),
    _unknown_option("copy_data_dir", lambda ws: [_data(ws), ws / "out"]),
]


def _two_dirs(ws: Path, b_without_text: bool = False) -> tuple[Path, Path]:
    a = _data(ws, name="a")
    b = data_dir(ws, name="b", num_speakers=1)
    for name in ("utt2spk", "spk2utt", "text", "wav.scp", "utt2gender", "spk2gender", "utt2num_samples"):
        (b / name).write_text((b / name).read_text().replace("spk1", "spkb"))
    if b_without_text:
        (b / "text").unlink()
    return a, b


COMBINE = [
    Case("combine_data", "dest_is_a_source", lambda ws: ["--overwrite", "true", ws / "a", *_two_dirs(ws)],
         "{ws}/a is also an input"),
    Case("combine_data", "source_without_text", lambda ws: [ws / "out", *_two_dirs(ws, b_without_text=True)],
         "{ws}/b has no text"),
    Case("combine_data", "same_utterances_twice_skip_fix",  # without --skip-fix, Kaldi's fix dedupes them
         lambda ws: ["--skip-fix", "true", ws / "out", _data(ws, name="a"), _data(ws, name="b")],
         "'spk1-utt1' is in both"),
    Case("combine_data", "source_missing", lambda ws: [ws / "out", _data(ws), ws / "nope"], "{ws}/nope"),
    Case("combine_data", "dest_exists", lambda ws: [_taken(ws), *_two_dirs(ws)], "{ws}/taken already"),
    Case("combine_data", "read_only_parent", lambda ws: [_ro_parent(ws) / "out", *_two_dirs(ws)], "{ws}/ro",
         read_only=("ro",)),
    _unknown_option("combine_data", lambda ws: [ws / "out", *_two_dirs(ws)]),
]

SPLIT = [
    *_numbers("split_data", "num_to_split", lambda ws, v: [_data(ws), v]),
    Case("split_data", "too_many_parts", lambda ws: [_data(ws), 99], "cannot split {ws}/data into 99 parts"),
    Case("split_data", "too_many_speakers", lambda ws: ["--per-spk", _data(ws), 3], "it has 2 speakers"),
    Case("split_data", "part_without_text",
         lambda ws: [*_broken(lambda d: set_line(d / "text", 6, "spk1-utt1b extra words"))(ws), 2],
         "{ws}/data/split2/2"),
    Case("split_data", "read_only_dir", lambda ws: [_data(ws), 2], "{ws}/data", read_only=("data",)),
    Case("split_data", "missing_dir", lambda ws: [ws / "nope", 2], "{ws}/nope"),
    Case("split_data", "utt2spk_three_fields", lambda ws: [*_broken(THREE_FIELDS)(ws), 2], "{ws}/data/utt2spk:1"),
    _unknown_option("split_data", lambda ws: [_data(ws), 2]),
]


def _file(ws: Path, name: str, content: bytes) -> Path:
    (ws / name).write_bytes(content)
    return ws / name


UTT2SPK = [
    Case("utt2spk_to_spk2utt", "three_fields", lambda ws: [_file(ws, "utt2spk", b"a-1 a\na-2 a b\n")],
         "{ws}/utt2spk:2"),
    Case("utt2spk_to_spk2utt", "bad_utf8", lambda ws: [_file(ws, "utt2spk", b"a-1 a\na-2 \xe9\n")], "{ws}/utt2spk:2"),
    Case("utt2spk_to_spk2utt", "duplicate", lambda ws: [_file(ws, "utt2spk", b"a-1 a\na-1 b\n")], "{ws}/utt2spk:2"),
    Case("utt2spk_to_spk2utt", "empty_line", lambda ws: [_file(ws, "utt2spk", b"a-1 a\n\na-2 a\n")],
         "{ws}/utt2spk:2"),
    Case("utt2spk_to_spk2utt", "no_speaker", lambda ws: [_file(ws, "utt2spk", b"a-1 a\na-2\n")], "{ws}/utt2spk:2"),
    Case("utt2spk_to_spk2utt", "missing", lambda ws: [ws / "nope"], "{ws}/nope: no such file"),
    Case("spk2utt_to_utt2spk", "utt_twice", lambda ws: [_file(ws, "spk2utt", b"a a-1\nb a-1\n")],
         "'a-1' is listed under both"),
    Case("spk2utt_to_utt2spk", "bad_utf8", lambda ws: [_file(ws, "spk2utt", b"a a-1\nb \xe9\n")], "{ws}/spk2utt:2"),
    Case("spk2utt_to_utt2spk", "missing", lambda ws: [ws / "nope"], "{ws}/nope: no such file"),
]

FILTER = [
    *[Case("filter_scp", f"field_{name}", lambda ws, v=value: ["-f", v, _file(ws, "ids", b"a\n"),
                                                                   _file(ws, "s", b"a 1\n")], "--field")
      for name, value in bad_numbers("--field")],
    Case("filter_scp", "id_list_missing", lambda ws: [ws / "nope", _file(ws, "s", b"a 1\n")], "{ws}/nope"),
    Case("filter_scp", "scp_missing", lambda ws: [_file(ws, "ids", b"a\n"), ws / "nope"], "{ws}/nope"),
    Case("filter_scp", "scp_bad_utf8", lambda ws: [_file(ws, "ids", b"a\n"), _file(ws, "s", b"a 1\nb \xe9\n")],
         "{ws}/s:2"),
    Case("filter_scp", "read_only_output",
         lambda ws: [_file(ws, "ids", b"a\n"), _file(ws, "s", b"a 1\n"), _ro_parent(ws) / "out"], "{ws}/ro",
         read_only=("ro",)),
]


def _fmt(ws: Path, data: Path | None = None, *opts) -> list:
    data = data or _data(ws)
    return ["--in_dir", data, "--out_dir", ws / "out", "--fs", 8000, *opts]


def _every_audio(kind: str):
    def edit(data: Path) -> None:
        for line in range(1, 7):
            replace_audio(data, kind, line)
    return edit


FORMAT = [
    Case("format_audio", "out_is_in", lambda ws: ["--in_dir", _data(ws), "--out_dir", ws / "data", "--fs", 8000,
                                                  "--overwrite", "true"], "{ws}/data is also an input"),
    Case("format_audio", "out_inside_in", lambda ws: ["--in_dir", _data(ws), "--out_dir", ws / "data" / "o",
                                                      "--fs", 8000], "lies inside input"),
    Case("format_audio", "wav_scp_lacks_utterance",
         lambda ws: _fmt(ws, _broken(lambda d: BREAKAGES["missing_utterance"](d, "wav.scp"))(ws)[0]),
         "{ws}/data/wav.scp"),
    Case("format_audio", "empty_text", lambda ws: _fmt(ws, _broken(BREAKAGES["empty_text"])(ws)[0]),
         "{ws}/data/text:2"),
    *[Case("format_audio", f"every_audio_{kind}", lambda ws, k=kind: _fmt(ws, _broken(_every_audio(k))(ws)[0]),
           phrase) for kind, phrase in (("nan", "non-finite"), ("inf", "non-finite"), ("empty", "empty file"),
                                        ("truncated_header", "not readable audio"))],
    Case("format_audio", "every_pipe_hangs",
         lambda ws: _fmt(ws, _broken(_pipe("sleep 30"), num_speakers=1, utts_per_speaker=1)(ws)[0],
                         "--pipe_timeout", "0.3"), "did not finish within 0.3 s"),
    *_numbers("format_audio", "--fs", lambda ws, v: ["--in_dir", _data(ws), "--out_dir", ws / "out", "--fs", v]),
    *_numbers("format_audio", "--min_dur", lambda ws, v: _fmt(ws, None, "--min_dur", v)
              ) [1:],  # 0 is a valid minimum
    *_numbers("format_audio", "--max_dur", lambda ws, v: _fmt(ws, None, "--max_dur", v)),
    *_numbers("format_audio", "--pipe_timeout", lambda ws, v: _fmt(ws, None, "--pipe_timeout", v)),
    Case("format_audio", "max_below_min", lambda ws: _fmt(ws, None, "--min_dur", 2, "--max_dur", 1),
         "--min_dur/--max_dur"),
    Case("format_audio", "out_exists", lambda ws: ["--in_dir", _data(ws), "--out_dir", _taken(ws), "--fs", 8000],
         "{ws}/taken already"),
    Case("format_audio", "out_is_a_file",
         lambda ws: ["--in_dir", _data(ws), "--out_dir", _file(ws, "f", b"x"), "--fs", 8000, "--overwrite", "true"],
         "{ws}/f exists and is not a directory"),
    Case("format_audio", "read_only_parent",
         lambda ws: ["--in_dir", _data(ws), "--out_dir", _ro_parent(ws) / "out", "--fs", 8000], "{ws}/ro",
         read_only=("ro",)),
    Case("format_audio", "in_missing", lambda ws: ["--in_dir", ws / "nope", "--out_dir", ws / "o", "--fs", 8000],
         "{ws}/nope"),
    _unknown_option("format_audio", lambda ws: _fmt(ws)),
]

MERGE_SCP = [
    Case("merge_scp", "part_missing", lambda ws: ["--out_dir", ws / "out", ws / "part.1"], "{ws}/part.1"),
    Case("merge_scp", "part_unfinished", lambda ws: (ws / "part.1").mkdir() or ["--out_dir", ws / "o", ws / "part.1"],
         "{ws}/part.1: neither"),
    _unknown_option("merge_scp", lambda ws: ["--out_dir", ws / "out", ws / "part.1"]),
]

CASES = [*VALIDATE, *FIX, *SUBSET, *COPY, *COMBINE, *SPLIT, *UTT2SPK, *FILTER, *FORMAT, *MERGE_SCP]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
