"""Audio reading: files and pipes, downmix, resampling, segments, and errors that name the spec."""
import struct
import time

import numpy as np
import pytest
import soundfile

from tts_codec.data.audio import audio_info, read_audio, write_wav
from tts_codec.errors import UserError
from tts_codec.testing.datadirs import tone

SR = 16000


@pytest.fixture
def wav_file(tmp_path):
    wav = tone(0.5, SR, 440.0)
    path = tmp_path / "a.wav"
    write_wav(path, wav, SR)
    return path, wav


def test_write_read_round_trip(wav_file):
    path, wav = wav_file
    out, sr = read_audio(str(path))
    assert sr == SR and out.dtype == np.float32 and out.shape == wav.shape
    assert np.abs(out - wav).max() < 2 / 32768
    assert soundfile.info(str(path)).subtype == "PCM_16"


def test_int_formats_become_float(tmp_path):
    path = tmp_path / "a.flac"
    soundfile.write(path, (tone(0.1, SR, 300.0) * 2**23).astype(np.int32) * 256, SR, subtype="PCM_24")
    out, _ = read_audio(str(path))
    assert out.dtype == np.float32 and 0.4 < np.abs(out).max() <= 1.0


def test_stereo_downmix_is_channel_mean(tmp_path):
    left, right = tone(0.2, SR, 200.0, seed=1), tone(0.2, SR, 500.0, seed=2)
    path = tmp_path / "st.wav"
    soundfile.write(path, np.stack([left, right], axis=1), SR, subtype="FLOAT")
    mono, _ = read_audio(str(path))
    both, _ = read_audio(str(path), mono=False)
    assert both.shape == (2, left.size)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-6)


def test_resample_keeps_length_ratio_and_pitch(wav_file):
    path, _ = wav_file
    out, sr = read_audio(str(path), target_sr=24000)
    assert sr == 24000 and out.shape == (12000,) and out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 24000 / out.size - 440.0) < 3


def test_pipe_equals_file_even_with_streaming_header(wav_file, tmp_path):
    path, _ = wav_file
    raw = bytearray(path.read_bytes())
    raw[4:8] = struct.pack("<I", 0xFFFFFFFF)  # sox/ffmpeg writing to a pipe cannot know the sizes
    data = raw.find(b"data")
    raw[data + 4:data + 8] = struct.pack("<I", 0xFFFFFFFF)
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(bytes(raw))
    from_file, _ = read_audio(str(path))
    from_pipe, sr = read_audio(f"cat {streamed} |")
    assert sr == SR
    np.testing.assert_array_equal(from_pipe, from_file)
    assert audio_info(f"cat {path} |").num_samples == from_file.size


def test_failing_pipe_names_the_command(tmp_path):
    with pytest.raises(UserError, match=r"audio command 'cat /no/such.wav' failed with exit code 1: .*No such file"):
        read_audio("cat /no/such.wav |")
    with pytest.raises(UserError, match="wrote nothing"):
        read_audio("true |")


@pytest.mark.parametrize("content, phrase", [(b"", "empty file"), (b"RIFF nonsense", "not readable audio"),
                                             (b"hello\n", "not readable audio")])
def test_bad_files_name_the_spec(tmp_path, content, phrase):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    for reader in (read_audio, audio_info):
        with pytest.raises(UserError, match=phrase) as err:
            reader(str(path))
        assert str(path) in str(err.value)


def test_missing_and_zero_length(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_audio(str(tmp_path / "none.wav"))
    path = tmp_path / "zero.wav"
    soundfile.write(path, np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(UserError, match="no samples"):
        audio_info(str(path))


def test_segments(wav_file):
    path, wav = wav_file
    seg, _ = read_audio(str(path), start=0.1, end=0.2)
    np.testing.assert_allclose(seg, wav[1600:3200], atol=2 / 32768)
    tail, _ = read_audio(str(path), start=0.4, end=-1)
    assert tail.size == 1600
    overshoot, _ = read_audio(str(path), start=0.4, end=0.7)  # within Kaldi's 0.5 s tolerance
    assert overshoot.size == 1600
    with pytest.raises(UserError, match="beyond the end"):
        read_audio(str(path), start=0.1, end=1.5)
    with pytest.raises(UserError, match="lies outside"):
        read_audio(str(path), start=0.6, end=0.7)


def test_write_wav_clips_and_is_atomic(tmp_path):
    path = tmp_path / "out" / "x.wav"
    write_wav(path, np.array([2.0, -3.0, 0.5], dtype=np.float32), SR)
    out, _ = read_audio(str(path))
    np.testing.assert_allclose(out, [32767 / 32768, -1.0, 0.5], atol=1e-4)
    assert [p.name for p in path.parent.iterdir()] == ["x.wav"]
    with pytest.raises(ValueError, match="non-empty"):
        write_wav(path, np.zeros(0), SR)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    wav = tone(0.1, SR, 440.0)
    wav[7] = bad
    soundfile.write(tmp_path / "f.wav", wav, SR, subtype="FLOAT")
    with pytest.raises(UserError, match=r"f.wav' has 1 non-finite \(NaN or inf\) samples"):
        read_audio(str(tmp_path / "f.wav"))
    with pytest.raises(ValueError, match="refusing to write .*out.wav: 1 samples are NaN or inf"):
        write_wav(tmp_path / "out.wav", wav, SR)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.wav"]


def test_endless_pipe_times_out_and_is_killed(tmp_path, process_gone):
    pid_file = tmp_path / "pid"
    spec = f"sh -c 'echo $$ > {pid_file}; exec sleep 30' |"
    start = time.monotonic()
    with pytest.raises(UserError, match=r"did not finish within 0.5 s"):
        audio_info(spec, pipe_timeout=0.5)
    assert time.monotonic() - start < 10
    # killed at once; allow a moment for the kernel
    assert process_gone(int(pid_file.read_text()), 5), "the pipe's command survived its timeout"
