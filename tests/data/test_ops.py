"""Data-dir operations: fix, subset, split, combine, copy, spk2utt/utt2spk, filter."""
import os

import numpy as np
import pytest

from tts_codec.data.datadir import DataDir
from tts_codec.data.ops import (combine_data, copy_data_dir, filter_lines, fix_data_dir, partition,
                                spk2utt_to_utt2spk, split_data, subset_data_dir, utt2spk_to_spk2utt)
from tts_codec.data.validate import validate_data_dir
from tts_codec.errors import UserError
from tts_codec.testing.datadirs import (BREAKAGES, break_duplicate, break_empty_text, break_extra_utterance,
                                        break_missing_utterance, break_unsorted, make_data_dir)


def test_spk2utt_conversions():
    utt2spk = {"b-1": "b", "a-1": "a", "b-2": "b"}
    spk2utt = utt2spk_to_spk2utt(utt2spk)
    assert spk2utt == {"b": ["b-1", "b-2"], "a": ["a-1"]} and list(spk2utt) == ["b", "a"]
    assert spk2utt_to_utt2spk({"b": "b-1 b-2", "a": ["a-1"]}) == utt2spk
    with pytest.raises(UserError, match="'x' is listed under both 'a' and 'b'"):
        spk2utt_to_utt2spk({"a": "x", "b": "x"})


def test_filter_lines():
    lines = ["u1 a", "u2 b", "u3 c u1", ""]
    assert list(filter_lines(lines, ["u1", "u3"])) == ["u1 a", "u3 c u1"]
    assert list(filter_lines(lines, ["u1", "u3"], exclude=True)) == ["u2 b"]
    assert list(filter_lines(lines, ["u1"], field=3)) == ["u3 c u1"]


@pytest.mark.parametrize("sizes, n", [([1] * 7, 3), ([5, 1, 1, 1, 1, 1], 3), ([1, 1, 9], 3), ([2, 3], 1),
                                      ([3, 1, 4, 1, 5, 9, 2, 6], 4), ([1] * 4, 4)])
def test_partition_contiguous_nonempty_balanced(sizes, n):
    units = [f"s{i}" for i in range(len(sizes))]
    parts = partition(units, sizes, n)
    assert len(parts) == n and all(parts) and [u for p in parts for u in p] == units
    totals = [sum(sizes[units.index(u)] for u in p) for p in parts]
    assert max(totals) - min(totals) <= max(sizes) + sum(sizes) / n  # loose balance bound; exact split is NP-hard
    if sizes == [1] * 7:
        assert [len(p) for p in parts] in ([3, 2, 2], [2, 3, 2], [2, 2, 3])


def test_fix_repairs_a_broken_dir(tmp_path):
    data = make_data_dir(tmp_path, num_speakers=3)
    break_unsorted(data, "wav.scp")
    break_duplicate(data, "utt2spk")
    break_empty_text(data, line=5)  # spk2-utt2
    break_missing_utterance(data, "utt2gender", line=7)  # spk3-utt1
    break_extra_utterance(data, "text")
    (data / "spk2utt").unlink()
    original_wav_scp = (data / "wav.scp").read_bytes()
    report = fix_data_dir(data)
    assert report.num_kept == 8  # the empty text of spk2-utt2 is kept, as in Kaldi
    assert report.removed == {"spk3-utt1": "not in utt2gender",
                              "zzz-unknown": "not in utt2spk (or a malformed utt2spk line)"}
    assert validate_data_dir(data, strict=False).num_utts == 8
    assert "spk2-utt2\n" in (data / "text").read_text()
    assert report.backup == data / ".backup" / "1"
    assert (report.backup / "wav.scp").read_bytes() == original_wav_scp
    assert "spk3-utt1 not in utt2gender" in (report.backup / "removed_utts").read_text()
    assert "utt2spk:2: spk1-utt1 duplicated value" in (report.backup / "removed_lines").read_text()


def test_fix_twice_keeps_both_backups_and_drops_stale_splits(tmp_path):
    data = make_data_dir(tmp_path, num_speakers=3)
    split_data(data, 2)
    break_extra_utterance(data, "text")
    first_text = (data / "text").read_bytes()
    assert fix_data_dir(data).backup == data / ".backup" / "1"
    assert not (data / "split2").exists()
    break_empty_text(data, line=2)
    second_text = (data / "text").read_bytes()
    assert fix_data_dir(data).backup == data / ".backup" / "2"
    assert (data / ".backup" / "1" / "text").read_bytes() == first_text
    assert (data / ".backup" / "2" / "text").read_bytes() == second_text
    assert "zzz-unknown" in (data / ".backup" / "1" / "removed_utts").read_text()


def test_fix_segments_and_speaker_tables(tmp_path):
    data = make_data_dir(tmp_path, num_speakers=3, segments=True)
    (data / "wav.scp").write_text("\n".join((data / "wav.scp").read_text().splitlines()[:2]) + "\n")  # drop spk3-rec
    (data / "spk2gender").write_text("spk1 m\nspk3 m\n")
    report = fix_data_dir(data)
    assert sorted(report.removed) == ["spk2-utt1", "spk2-utt2", "spk2-utt3", "spk3-utt1", "spk3-utt2", "spk3-utt3"]
    assert report.removed["spk3-utt1"] == "recording spk3-rec not in wav.scp"
    dd = DataDir.load(data)
    assert dd.speakers == ["spk1"] and dd.extra["spk2gender"] == {"spk1": "m"}
    validate_data_dir(data)


def test_fix_refuses_to_empty_a_dir(tmp_path):
    data = make_data_dir(tmp_path)
    (data / "text").write_text("other-1 hi\n")
    before = (data / "utt2spk").read_text()
    with pytest.raises(UserError, match="no utterance is in every table; nothing written"):
        fix_data_dir(data)
    assert (data / "utt2spk").read_text() == before


@pytest.mark.parametrize("kind", ["unsorted", "duplicate", "empty_text", "extra_utterance", "missing_utterance",
                                  "missing_file"])
def test_fix_makes_fixable_breakages_valid(tmp_path, kind):
    data = make_data_dir(tmp_path)
    BREAKAGES[kind](data)
    fix_data_dir(data)
    validate_data_dir(data, strict=kind != "empty_text")  # Kaldi (and fix) keep an empty text


def test_subset_selectors(tmp_path):
    src = make_data_dir(tmp_path, num_speakers=3)
    assert subset_data_dir(src, tmp_path / "first", first=2).utt_ids == ["spk1-utt1", "spk1-utt2"]
    assert subset_data_dir(src, tmp_path / "last", last=1).utt_ids == ["spk3-utt3"]
    (tmp_path / "spk.list").write_text("spk2\nspk9\n")
    assert subset_data_dir(src, tmp_path / "spk", spk_list=tmp_path / "spk.list").speakers == ["spk2"]
    (tmp_path / "utt.list").write_text("spk3-utt2 extra field\nspk1-utt3\n")
    sub = subset_data_dir(src, tmp_path / "utt", utt_list=tmp_path / "utt.list")
    assert sub.utt_ids == ["spk1-utt3", "spk3-utt2"]
    for name in ("first", "last", "spk", "utt"):
        validate_data_dir(tmp_path / name)


def test_subset_errors(tmp_path):
    src = make_data_dir(tmp_path)
    with pytest.raises(UserError, match="exactly one of"):
        subset_data_dir(src, tmp_path / "x")
    with pytest.raises(UserError, match=r"--first 7: cannot subset data dir .* \(6 utterances\)"):
        subset_data_dir(src, tmp_path / "x", first=7)
    (tmp_path / "none.list").write_text("nobody\n")
    with pytest.raises(UserError, match="none.list: none of its ids"):
        subset_data_dir(src, tmp_path / "x", utt_list=tmp_path / "none.list")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "f").write_text("x")
    with pytest.raises(UserError, match="already exists"):
        subset_data_dir(src, tmp_path / "taken", first=1)


@pytest.mark.parametrize("per_spk", [False, True])
@pytest.mark.parametrize("segments", [False, True])
def test_split(tmp_path, per_spk, segments):
    data = make_data_dir(tmp_path, num_speakers=3, utts_per_speaker=3, segments=segments)
    parts = split_data(data, 3 if per_spk else 4, per_spk=per_spk)
    assert [p.name for p in parts] == [str(k) for k in range(1, len(parts) + 1)]
    assert parts[0].parent == data / ("split3" if per_spk else "split4utt")
    dirs = [DataDir.load(p) for p in parts]
    assert [u for d in dirs for u in d.utt_ids] == DataDir.load(data).utt_ids
    for part in parts:
        validate_data_dir(part)
    if per_spk:
        assert [d.speakers for d in dirs] == [["spk1"], ["spk2"], ["spk3"]]
    else:
        assert [len(d) for d in dirs] == [3, 2, 2, 2]  # split_scp.pl: the first len % N parts get one more


def test_split_reuses_and_rebuilds(tmp_path):
    data = make_data_dir(tmp_path)
    first = split_data(data, 2)
    stamp = (first[0] / "utt2spk").stat().st_mtime_ns
    assert split_data(data, 2) == first and (first[0] / "utt2spk").stat().st_mtime_ns == stamp
    per_utt = split_data(data, 2, per_spk=False)  # the other mode has its own dir, split2utt
    assert per_utt[0].parent == data / "split2utt" and first[0].parent == data / "split2"
    assert DataDir.load(first[0]).speakers == ["spk1"]
    os.utime(data / "utt2spk")  # a newer time, the same contents: still up to date
    split_data(data, 2, per_spk=True)
    assert (first[0] / "utt2spk").stat().st_mtime_ns == stamp
    assert split_data(data, 2, per_spk=True) == first and (first[0] / "utt2spk").stat().st_mtime_ns == stamp
    subset_data_dir(data, tmp_path / "four", first=4)
    for name in ("wav.scp", "text", "utt2spk", "spk2utt", "utt2gender"):  # new contents with the old file times
        times = (data / name).stat()
        (data / name).write_bytes((tmp_path / "four" / name).read_bytes())
        os.utime(data / name, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert sum(len(DataDir.load(p)) for p in split_data(data, 2, per_spk=True)) == 4


@pytest.mark.parametrize("verb", ["subset", "copy", "combine"])
@pytest.mark.parametrize("layout", ["same", "inside"])
def test_source_as_destination_is_refused_and_untouched(tmp_path, verb, layout):
    src = make_data_dir(tmp_path)
    split_data(src, 2)
    before = _tree(src)
    dest = src if layout == "same" else src / "sub"
    call = {"subset": lambda: subset_data_dir(src, dest, overwrite=True, first=2),
            "copy": lambda: copy_data_dir(src, dest, overwrite=True),
            "combine": lambda: combine_data(dest, [src], overwrite=True)}[verb]
    with pytest.raises(UserError, match="input"):
        call()
    assert _tree(src) == before


def test_overwritten_dest_has_no_stale_split(tmp_path):
    src = make_data_dir(tmp_path / "a")
    dest = copy_data_dir(src, tmp_path / "b") and tmp_path / "b"
    split_data(dest, 2)
    subset_data_dir(src, dest, overwrite=True, first=3)
    assert sorted(p.name for p in dest.iterdir() if p.is_dir()) == []
    assert len(DataDir.load(dest)) == 3


def _tree(path):
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_split_too_many_parts(tmp_path):
    data = make_data_dir(tmp_path, num_speakers=2, utts_per_speaker=2)
    with pytest.raises(UserError, match="cannot split .* into 5 parts: it has only 4 utterances"):
        split_data(data, 5, per_spk=False)
    with pytest.raises(UserError, match="into 3 parts: it has 2 speakers, fewer than the parts"):
        split_data(data, 3)


def test_combine(tmp_path):
    a = make_data_dir(tmp_path / "a", num_speakers=2)
    b = copy_data_dir(a, tmp_path / "b", utt_prefix="x", spk_prefix="x")
    c = make_data_dir(tmp_path / "c", num_speakers=1, segments=True)  # spk1-* again, but with segments
    out = combine_data(tmp_path / "ab", [a, tmp_path / "b"])
    assert len(out) == 12 and out.speakers == ["spk1", "spk2", "xspk1", "xspk2"] and len(b) == 6
    validate_data_dir(tmp_path / "ab")
    with pytest.raises(UserError, match=r"utt2spk: 'spk1-utt1' is in both .*/a/data and .*/c/data"):
        combine_data(tmp_path / "ac", [a, c], skip_fix=True)
    dup = combine_data(tmp_path / "ac", [a, c])  # Kaldi: each file keeps the line that sorts first
    assert len(dup) == 6 and dup.segments["spk1-utt1"].rec == "spk1-rec"  # `spk1-rec` < `spk1-utt1`
    validate_data_dir(tmp_path / "ac", strict=False)


def test_combine_mixed_segments_and_partial_extras(tmp_path):
    a = make_data_dir(tmp_path / "a", num_speakers=1, segments=True)
    b = make_data_dir(tmp_path / "b", num_speakers=2, extra=False)
    b2 = copy_data_dir(b, tmp_path / "b2", utt_prefix="x", spk_prefix="x")
    out = combine_data(tmp_path / "all", [a, tmp_path / "b2"])
    assert out.extra == {} and len(out.segments) == 9
    # Kaldi's get_segments_for_data.sh: `utt utt 0 <duration>`, never `-1`
    assert (tmp_path / "all" / "segments").read_text().splitlines()[-1] == "xspk2-utt3 xspk2-utt3 0 0.25"
    validate_data_dir(tmp_path / "all")
    dd = DataDir.load(tmp_path / "all")
    np.testing.assert_array_equal(dd.load_audio("xspk2-utt1"), DataDir.load(b).load_audio("spk2-utt1"))
    assert len(b2) == 6


def test_combine_conflicting_recordings(tmp_path):
    a = make_data_dir(tmp_path / "a", num_speakers=1, segments=True)
    b = copy_data_dir(a, tmp_path / "b", utt_prefix="y", spk_prefix="y")
    (tmp_path / "b" / "wav.scp").write_text("spk1-rec /elsewhere.wav\n")
    with pytest.raises(UserError, match=r"wav.scp: 'spk1-rec' has different values in .*/a/data and .*/b"):
        combine_data(tmp_path / "ab", [a, tmp_path / "b"])
    assert len(b) == 3


def test_copy_with_prefixes(tmp_path):
    src = make_data_dir(tmp_path, segments=True)
    out = copy_data_dir(src, tmp_path / "sp", utt_prefix="sp1.1-", spk_prefix="sp1.1-")
    assert out.utt_ids[0] == "sp1.1-spk1-utt1" and out.extra["spk2gender"]["sp1.1-spk1"] == "m"
    assert list(out.wav_scp) == ["spk1-rec", "spk2-rec"]  # recordings keep their ids
    validate_data_dir(tmp_path / "sp")
