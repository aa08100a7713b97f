"""split/subset/copy/combine/fix/utt2spk_to_spk2utt against Kaldi's utils scripts: the expected outputs are what
Kaldi's scripts give on the same inputs, worked out by hand from their algorithms (split_scp.pl, subset_scp.pl,
shuffle_list.pl, the awk of subset_data_dir.sh, fix_data_dir.sh, get_segments_for_data.sh)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.bin import copy_data_dir as copy_cli
from tts_codec.bin import subset_data_dir as subset_cli
from tts_codec.bin import utt2spk_to_spk2utt as u2s_cli
from tts_codec.data.datadir import DataDir
from tts_codec.data.kaldi_split import split_per_spk, split_per_utt
from tts_codec.data.kaldi_subset import per_speaker, perl_shuffle, shortest, spread
from tts_codec.data.ops import combine_data, fix_data_dir, split_data
from tts_codec.data.validate import validate_data_dir
from tts_codec.errors import UserError

UTTS = ["a-1", "a-2", "b-1", "b-2", "b-3", "c-1"]


def small_dir(path: Path, utt2spk: dict[str, str], **files: str) -> Path:
    """A data dir with text and wav.scp (audio is never opened here) plus `files` (name -> content)."""
    path.mkdir(parents=True)
    spk2utt: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    tables = {"utt2spk": [f"{u} {utt2spk[u]}" for u in sorted(utt2spk)],
              "spk2utt": [f"{s} {' '.join(us)}" for s, us in sorted(spk2utt.items())],
              "text": [f"{u} words of {u}" for u in sorted(utt2spk)],
              "wav.scp": [f"{u} /audio/{u}.wav" for u in sorted(utt2spk)]}
    for name, lines in tables.items():
        (path / name).write_text("".join(line + "\n" for line in lines))
    for name, content in files.items():
        (path / name.replace("_scp", ".scp")).write_text(content)
    return path


def test_split_per_speaker_balances_like_split_scp_pl():
    # the example: speakers with 1, 5, 2, 6, 1 utterances into 3 parts give 6/2/7 in Kaldi
    parts = split_per_spk(["s0", "s1", "s2", "s3", "s4"], [1, 5, 2, 6, 1], 3)
    assert parts == [["s0", "s1"], ["s2"], ["s3", "s4"]]
    assert split_per_spk(["a", "b", "c", "d"], [1, 1, 1, 9], 2) == [["a", "b", "c"], ["d"]]
    with pytest.raises(UserError, match="it has 2 speakers, fewer than the parts"):
        split_per_spk(["a", "b"], [3, 3], 3)


def test_split_per_utterance_gives_the_first_parts_one_more():
    assert [len(p) for p in split_per_utt([str(i) for i in range(10)], 4)] == [3, 3, 2, 2]
    with pytest.raises(UserError, match="only 3 utterances"):
        split_per_utt(["a", "b", "c"], 4)


def test_split_data_dirs_and_default(tmp_path):
    counts = {"s0": 1, "s1": 5, "s2": 2, "s3": 6, "s4": 1}
    data = small_dir(tmp_path / "d", {f"{s}-u{j}": s for s, n in counts.items() for j in range(n)})
    parts = split_data(data, 3)
    assert parts[0].parent == data / "split3"
    assert [len(DataDir.load(p)) for p in parts] == [6, 2, 7]
    utt_parts = split_data(data, 3, per_spk=False)
    assert utt_parts[0].parent == data / "split3utt" and [len(DataDir.load(p)) for p in utt_parts] == [5, 5, 5]
    with pytest.raises(UserError, match="into 6 parts: it has 5 speakers"):
        split_data(data, 6)


def test_subset_selections_match_kaldi():
    assert spread(UTTS, 3) == ["b-1", "b-2", "c-1"]  # subset_scp.pl 3
    assert spread(UTTS, 1) == ["c-1"] and spread(UTTS, 6) == UTTS
    spk2utt = {"a": ["a-1", "a-2"], "b": ["b-1", "b-2", "b-3"], "c": ["c-1"]}
    assert per_speaker(spk2utt, 1) == ["a-1", "b-1", "c-1"]
    assert per_speaker({"x": [f"x{i}" for i in range(7)]}, 3) == ["x0", "x2", "x4"]  # skip 2
    # shuffle_list.pl: srand(0); rand() gives 0.17082803610629, 0.749901980484964, 0.0963716556235674
    assert perl_shuffle(["a", "b", "c"]) == ["c", "a", "b"]
    lengths = {"a-1": "1.5", "a-2": "0.5", "b-1": "2", "b-2": "0.7", "b-3": "3", "c-1": "0.6"}
    assert shortest(lengths, 2) == ["a-2", "c-1"]


@pytest.mark.parametrize("argv, utts", [
    (["--first", "{src}", "3", "{dest}"], ["a-1", "a-2", "b-1"]),
    (["--first", "3", "{src}", "{dest}"], ["a-1", "a-2", "b-1"]),  # the older form
    (["--last", "{src}", "2", "{dest}"], ["b-3", "c-1"]),
    (["{src}", "3", "{dest}"], ["b-1", "b-2", "c-1"]),
    (["--per-spk", "{src}", "1", "{dest}"], ["a-1", "b-1", "c-1"]),
    (["--speakers", "{src}", "3", "{dest}"], ["a-1", "a-2", "c-1"]),
    (["--shortest", "{src}", "2", "{dest}"], ["a-2", "c-1"]),
])
def test_subset_cli_kaldi_forms(tmp_path, argv, utts):
    src = small_dir(tmp_path / "src", {u: u[0] for u in UTTS},
                    utt2dur="a-1 1.5\na-2 0.5\nb-1 2\nb-2 0.7\nb-3 3\nc-1 0.6\n")
    dest = tmp_path / "dest"
    assert subset_cli.main([a.format(src=src, dest=dest) for a in argv]) == 0
    assert DataDir.load(dest).utt_ids == utts
    validate_data_dir(dest, strict=False)


def test_subset_cli_errors(tmp_path):
    src = small_dir(tmp_path / "src", {u: u[0] for u in UTTS})
    with pytest.raises(UserError, match=r"N = 7: cannot subset .* \(6 utterances\)"):
        subset_cli.main([str(src), "7", str(tmp_path / "o")])
    with pytest.raises(UserError, match="--shortest needs utterance lengths"):
        subset_cli.main(["--shortest", str(src), "2", str(tmp_path / "o")])


def test_copy_with_speed_perturbation_suffixes_validates(tmp_path):
    src = small_dir(tmp_path / "src", {u: u[0] for u in UTTS})
    dest = tmp_path / "sp"
    assert copy_cli.main(["--utt-suffix", "-sp1.1", "--spk-suffix", "-sp1.1", str(src), str(dest)]) == 0
    dd = DataDir.load(dest)
    assert dd.utt_ids[:2] == ["a-1-sp1.1", "a-2-sp1.1"] and dd.utt2spk["a-1-sp1.1"] == "a-sp1.1"
    validate_data_dir(dest, strict=False)


def test_fix_keeps_empty_text_segment_times_and_filters_speaker_files(tmp_path):
    data = small_dir(tmp_path / "d", {"a-1": "a", "a-2": "a", "b-1": "b"},
                     segments="a-1 r1 0.50 1.250\na-2 r1 1.50 2.5\nb-1 r2 0.0 1.00\n",
                     wav_scp="r1 /audio/r1.wav\nr2 /audio/r2.wav\n", spk_info="a first\nb second\nz gone\n")
    (data / "text").write_text("a-1 hello\na-2\nb-1 thank you\n")
    (data / "utt2spk").write_text("a-1 a\na-2 a\nb-1 b\nzz-1 z\n")
    report = fix_data_dir(data, spk_extra_files=["spk_info"])
    assert report.num_kept == 3 and list(report.removed) == ["zz-1"]
    assert (data / "segments").read_text() == "a-1 r1 0.50 1.250\na-2 r1 1.50 2.5\nb-1 r2 0.0 1.00\n"
    assert (data / "text").read_text() == "a-1 hello\na-2\nb-1 thank you\n"
    assert (data / "spk_info").read_text() == "a first\nb second\n"
    validate_data_dir(data, strict=False)


def test_combine_extra_files_and_durations_for_missing_segments(tmp_path):
    a = small_dir(tmp_path / "a", {"a-1": "a", "a-2": "a"}, segments="a-1 ra 0 1.5\na-2 ra 1.5 3\n",
                  wav_scp="ra /audio/ra.wav\n", notes="a-1 x\na-2 y\n")
    b = small_dir(tmp_path / "b", {"b-1": "b"}, utt2dur="b-1 2.75\n", notes="b-1 z\n")
    out = tmp_path / "ab"
    combine_data(out, [a, b], extra_files=["notes"])
    assert (out / "segments").read_text() == "a-1 ra 0 1.5\na-2 ra 1.5 3\nb-1 b-1 0 2.75\n"
    assert (out / "notes").read_text() == "a-1 x\na-2 y\nb-1 z\n"
    validate_data_dir(out, strict=False)


def test_utt2spk_to_spk2utt_rejects_three_fields(tmp_path):
    (tmp_path / "utt2spk").write_text("a-1 a\na-2 a extra\n")
    with pytest.raises(UserError, match=r"utt2spk:2: expected `utterance speaker`, got 3 fields"):
        u2s_cli.main([str(tmp_path / "utt2spk")])
