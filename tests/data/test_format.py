"""Stage-2 audio formatting: resampling, utt2num_samples, duration filter, unreadable audio, no clobbering."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tts_codec.bin import format_audio
from tts_codec.cli import run_main
from tts_codec.data.datadir import DataDir
from tts_codec.data.validate import validate_data_dir
from tts_codec.data.format import format_data_dir
from tts_codec.data.table import read_table, write_table
from tts_codec.errors import UserError

DURATIONS = {"spkA_001": 1.0, "spkA_002": 0.2, "spkB_001": 1.5, "spkB_002": 3.0}


def _make_dir(root: Path, sr: int = 16000, stereo_utt: str | None = None) -> Path:
    data = root / "in"
    data.mkdir()
    rng = np.random.default_rng(0)
    wav_scp, text, utt2spk, gender = {}, {}, {}, {}
    for utt, dur in DURATIONS.items():
        n = int(dur * sr)
        tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(n) / sr) + 0.01 * rng.standard_normal(n)
        audio = np.stack([tone, tone], axis=1) if utt == stereo_utt else tone
        path = root / f"{utt}.flac"
        sf.write(path, audio, sr)
        wav_scp[utt], text[utt], utt2spk[utt] = str(path), f"hello {utt}", utt.split("_")[0]
        gender[utt] = "f" if utt.startswith("spkA") else "m"
    for name, table in {"wav.scp": wav_scp, "text": text, "utt2spk": utt2spk, "utt2gender": gender}.items():
        write_table(data / name, table)
    write_table(data / "spk2utt", {"spkA": "spkA_001 spkA_002", "spkB": "spkB_001 spkB_002"})
    return data


def test_resamples_filters_and_records_lengths(tmp_path: Path) -> None:
    src = _make_dir(tmp_path, stereo_utt="spkB_001")
    result = format_data_dir(src, tmp_path / "out", fs=24000, min_dur=0.5, max_dur=2.0)
    assert result.kept == 2
    assert set(result.filtered) == {"spkA_002", "spkB_002"}
    out = DataDir.load(tmp_path / "out")
    validate_data_dir(tmp_path / "out")
    assert out.utt_ids == ["spkA_001", "spkB_001"]
    lengths = {u: int(n) for u, n in out.extra["utt2num_samples"].items()}
    assert lengths == {"spkA_001": 24000, "spkB_001": 36000}
    for utt in out.utt_ids:
        info = sf.info(out.wav_scp[utt])
        assert (info.samplerate, info.channels, info.frames) == (24000, 1, lengths[utt])
    assert out.extra["utt2gender"] == {"spkA_001": "f", "spkB_001": "m"}
    assert out.text["spkB_001"] == "hello spkB_001"
    assert "outside" in read_table(tmp_path / "out" / "filtered_utts")["spkB_002"]


def test_segments_become_separate_wavs(tmp_path: Path) -> None:
    src = _make_dir(tmp_path)
    write_table(src / "segments", {"spkB_002": "rec1 0.5 1.25"})
    write_table(src / "wav.scp", {"rec1": str(tmp_path / "spkB_002.flac")})
    for name in ("text", "utt2spk", "utt2gender"):
        write_table(src / name, {"spkB_002": read_table(src / name)["spkB_002"]})
    write_table(src / "spk2utt", {"spkB": "spkB_002"})
    format_data_dir(src, tmp_path / "out", fs=16000)
    out = DataDir.load(tmp_path / "out")
    assert out.segments is None
    assert out.extra["utt2num_samples"] == {"spkB_002": "12000"}


def test_unreadable_audio_is_dropped_with_reason(tmp_path: Path) -> None:
    src = _make_dir(tmp_path)
    (tmp_path / "spkA_001.flac").write_bytes(b"this is not audio")
    result = format_data_dir(src, tmp_path / "out", fs=16000)
    assert result.kept == 3
    assert result.filtered["spkA_001"].startswith("unreadable:")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_audio_is_dropped_and_counted_never_written(tmp_path: Path, bad: float) -> None:
    src = _make_dir(tmp_path)
    wav = sf.read(tmp_path / "spkB_001.flac", dtype="float32")[0]
    wav[1000:1010] = bad
    sf.write(tmp_path / "spkB_001.wav", wav, 16000, subtype="FLOAT")
    write_table(src / "wav.scp", {**read_table(src / "wav.scp"), "spkB_001": str(tmp_path / "spkB_001.wav")})
    result = format_data_dir(src, tmp_path / "out", fs=8000)
    assert result.kept == 3 and "non-finite (NaN or inf) samples" in result.filtered["spkB_001"]
    assert "spkB_001" in read_table(tmp_path / "out" / "filtered_utts")
    for path in (tmp_path / "out" / "wav").iterdir():
        assert np.isfinite(sf.read(path)[0]).all()


def test_nothing_kept_leaves_nothing_behind_and_the_rerun_works(tmp_path: Path) -> None:
    src = _make_dir(tmp_path)
    good = {utt: (tmp_path / f"{utt}.flac").read_bytes() for utt in DURATIONS}
    for utt in DURATIONS:
        (tmp_path / f"{utt}.flac").write_bytes(b"broken")
    with pytest.raises(UserError, match="every utterance was dropped, nothing written"):
        format_data_dir(src, tmp_path / "out", fs=16000)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    for utt, data in good.items():
        (tmp_path / f"{utt}.flac").write_bytes(data)
    assert format_data_dir(src, tmp_path / "out", fs=16000).kept == 4  # no --overwrite needed


def test_failed_overwrite_keeps_the_previous_output(tmp_path: Path) -> None:
    src = _make_dir(tmp_path)
    format_data_dir(src, tmp_path / "out", fs=16000)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file()}
    (src / "text").write_text((src / "text").read_text().replace("hello spkA_002", ""))
    with pytest.raises(UserError, match="text:2: utterance 'spkA_002' has empty text"):
        format_data_dir(src, tmp_path / "out", fs=16000, overwrite=True)
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir() if p.is_file()} == before


def test_refuses_to_clobber_and_bad_arguments(tmp_path: Path) -> None:
    src = _make_dir(tmp_path)
    format_data_dir(src, tmp_path / "out", fs=16000)
    with pytest.raises(UserError, match="already exists"):
        format_data_dir(src, tmp_path / "out", fs=16000)
    with pytest.raises(UserError, match="min_dur"):
        format_data_dir(src, tmp_path / "out2", fs=16000, min_dur=3, max_dur=1)


def test_cli_reports_user_error_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["--in_dir", str(tmp_path / "missing"), "--out_dir", str(tmp_path / "o"), "--fs", "16000"]
    assert run_main(format_audio.main, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing" in err[0] and "no such directory" in err[0]


def test_cli_formats_a_data_dir(tmp_path: Path) -> None:
    src = _make_dir(tmp_path)
    argv = ["--in_dir", str(src), "--out_dir", str(tmp_path / "o"), "--fs", "8000", "--max_dur", "2.5"]
    assert run_main(format_audio.main, argv) == 0
    assert DataDir.load(tmp_path / "o").utt_ids == ["spkA_001", "spkA_002", "spkB_001"]
