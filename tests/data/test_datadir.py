"""DataDir: loading, audio access (files, pipes, segments), subsets and saving."""
import numpy as np
import pytest

from tts_codec.data.audio import read_audio
from tts_codec.data.datadir import DataDir, Segment, key_kind
from tts_codec.errors import UserError
from tts_codec.testing.datadirs import make_data_dir


def test_load_attributes(tmp_path):
    dd = DataDir.load(make_data_dir(tmp_path, num_speakers=2, utts_per_speaker=3))
    assert dd.utt_ids == ["spk1-utt1", "spk1-utt2", "spk1-utt3", "spk2-utt1", "spk2-utt2", "spk2-utt3"]
    assert dd.speakers == ["spk1", "spk2"]
    assert dd.spk2utt == {"spk1": dd.utt_ids[:3], "spk2": dd.utt_ids[3:]}
    assert dd.segments is None and len(dd) == 6
    assert sorted(dd.extra) == ["spk2gender", "utt2gender", "utt2num_samples"]
    assert dd.extra["utt2gender"]["spk2-utt1"] == "f" and dd.extra["spk2gender"] == {"spk1": "m", "spk2": "f"}
    assert dd.text["spk1-utt1"] and set(dd.wav_scp) == set(dd.utt_ids)


@pytest.mark.parametrize("segments", [False, True])
@pytest.mark.parametrize("pipe", [False, True])
def test_load_audio(tmp_path, segments, pipe):
    dd = DataDir.load(make_data_dir(tmp_path, segments=segments, pipe=pipe, duration=0.25))
    wav = dd.load_audio("spk1-utt2")
    assert wav.shape == (4000,) and wav.dtype == np.float32
    assert dd.load_audio("spk1-utt2", target_sr=8000).shape == (2000,)
    if segments:
        whole, _ = read_audio(dd.wav_scp["spk1-rec"])
        np.testing.assert_array_equal(wav, whole[4000:8000])


def test_load_audio_unknown_utterance(tmp_path):
    dd = DataDir.load(make_data_dir(tmp_path))
    with pytest.raises(UserError, match="'nobody' is not in wav.scp"):
        dd.load_audio("nobody")


def test_save_round_trip_and_refuses_to_clobber(tmp_path):
    src = make_data_dir(tmp_path, segments=True)
    dd = DataDir.load(src)
    dd.save(tmp_path / "copy")
    again = DataDir.load(tmp_path / "copy")
    assert (again.wav_scp, again.utt2spk, again.text, again.segments, again.extra) == (
        dd.wav_scp, dd.utt2spk, dd.text, dd.segments, dd.extra)
    assert again.segments["spk1-utt2"] == Segment("spk1-rec", 0.25, 0.5)
    with pytest.raises(UserError, match="already exists; pass --overwrite true"):
        dd.save(tmp_path / "copy")


def test_overwrite_removes_stale_tables_only(tmp_path):
    path = make_data_dir(tmp_path, segments=True)
    (path / "notes.txt").write_text("keep me")
    dd = DataDir.load(path)
    no_seg = DataDir({u: dd.wav_scp[s.rec] for u, s in dd.segments.items()}, dd.utt2spk, dd.text)
    no_seg.save(path, overwrite=True)
    names = sorted(p.name for p in path.iterdir())
    assert names == ["notes.txt", "spk2utt", "text", "utt2spk", "wav.scp"]


def test_subset_filters_every_table(tmp_path):
    dd = DataDir.load(make_data_dir(tmp_path, num_speakers=3, segments=True))
    sub = dd.subset(["spk2-utt1", "spk2-utt3", "unknown"])
    assert sub.utt_ids == ["spk2-utt1", "spk2-utt3"]
    assert list(sub.wav_scp) == ["spk2-rec"] and sorted(sub.segments) == sub.utt_ids
    assert sub.extra["spk2gender"] == {"spk2": "f"} and sorted(sub.extra["utt2gender"]) == sub.utt_ids
    assert sub.spk2utt == {"spk2": ["spk2-utt1", "spk2-utt3"]}


def test_load_errors(tmp_path):
    with pytest.raises(UserError, match="no such directory"):
        DataDir.load(tmp_path / "none")
    with pytest.raises(UserError, match="has no utt2spk"):
        DataDir.load(tmp_path)
    path = make_data_dir(tmp_path, segments=True)
    (path / "segments").write_text("spk1-utt1 spk1-rec 0 x\n")
    with pytest.raises(UserError, match=r"segments:1: start/end times '0' 'x' are not numbers"):
        DataDir.load(path)


@pytest.mark.parametrize("name, kind", [("utt2gender", "utt"), ("feats.scp", "utt"), ("xvector.scp", "utt"),
                                        ("spk2gender", "spk"), ("spk_xvector.scp", "spk"), ("cmvn.scp", "spk"),
                                        ("reco2dur", "rec"), ("wav.scp", None), ("spk2utt", None),
                                        ("text", None), ("feats_type", None), (".backup", None)])
def test_key_kind(name, kind):
    assert key_kind(name) == kind
