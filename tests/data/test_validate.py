"""validate_data_dir: valid dirs pass; each kind of damage is reported with its file and line."""
import logging

import pytest

from tts_codec.data.validate import validate_data_dir
from tts_codec.errors import UserError
from tts_codec.testing.datadirs import BREAKAGES, break_not_audio, make_data_dir


def assert_reported(err: UserError, data, breakage) -> None:
    where = f"{data / breakage.file}:{breakage.line}:" if breakage.line else f"{data / breakage.file}: "
    assert str(err).startswith(where), str(err)
    assert breakage.phrase in str(err)


@pytest.mark.parametrize("segments", [False, True])
@pytest.mark.parametrize("pipe", [False, True])
def test_valid_dirs_pass(tmp_path, segments, pipe):
    report = validate_data_dir(make_data_dir(tmp_path, num_speakers=3, segments=segments, pipe=pipe))
    assert (report.num_utts, report.num_speakers, report.num_recordings) == (9, 3, 3 if segments else 9)
    assert report.warnings == []


@pytest.mark.parametrize("kind", sorted(BREAKAGES))
def test_each_breakage_is_reported_with_file_and_line(tmp_path, kind):
    data = make_data_dir(tmp_path)
    breakage = BREAKAGES[kind](data)
    with pytest.raises(UserError) as err:
        validate_data_dir(data)
    assert_reported(err.value, data, breakage)


@pytest.mark.parametrize("name", ["utt2spk", "wav.scp", "text", "utt2gender", "spk2gender", "segments"])
def test_unsorted_and_duplicates_in_any_table(tmp_path, name):
    from tts_codec.testing.datadirs import break_duplicate, break_unsorted
    for breaker in (break_unsorted, break_duplicate):
        data = make_data_dir(tmp_path / breaker.__name__, segments=True)
        breakage = breaker(data, name)
        with pytest.raises(UserError) as err:
            validate_data_dir(data)
        assert_reported(err.value, data, breakage)


def test_bad_utf8_in_utt2spk(tmp_path):
    data = make_data_dir(tmp_path)
    (data / "utt2spk").write_bytes((data / "utt2spk").read_bytes() + b"spk2-\xff spk2\n")
    with pytest.raises(UserError, match=r"spk2utt: utterance 'spk2-\\xff' \(utt2spk line 7\) is missing"):
        validate_data_dir(data)  # Kaldi's checks come first; they read bytes


def test_not_audio_in_pipe_and_no_audio_check(tmp_path):
    data = make_data_dir(tmp_path, pipe=True)
    breakage = break_not_audio(data, line=3)
    assert validate_data_dir(data, check_audio=False).num_utts == 6
    with pytest.raises(UserError) as err:
        validate_data_dir(data)
    assert_reported(err.value, data, breakage)


def test_failing_pipe_names_line_and_command(tmp_path):
    data = make_data_dir(tmp_path)
    lines = (data / "wav.scp").read_text().splitlines()
    lines[1] = lines[1].split()[0] + " sox-missing-tool in.flac -t wav - |"
    (data / "wav.scp").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"wav\.scp:2: .*'sox-missing-tool in.flac -t wav -' failed with exit code"):
        validate_data_dir(data)


def test_single_speaker_is_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        report = validate_data_dir(make_data_dir(tmp_path, num_speakers=1))
    assert report.num_speakers == 1 and "only one speaker" in report.warnings[0]
    assert "only one speaker" in caplog.text


@pytest.mark.parametrize("line, phrase", [
    ("spk1-utt2 spk9-rec 0.25 0.5", "recording 'spk9-rec' of 'spk1-utt2' is not in wav.scp"),
    ("spk1-utt2 spk1-rec 0.5 0.25", "with end > start"),
    ("spk1-utt2 spk1-rec 0.25", "expected `utt rec start end`"),
    ("spk1-utt2 spk1-rec 0.25 9.0", "lies outside recording 'spk1-rec'"),
])
def test_bad_segments(tmp_path, line, phrase):
    data = make_data_dir(tmp_path, segments=True)
    lines = (data / "segments").read_text().splitlines()
    lines[1] = line
    (data / "segments").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"segments:2: ") as err:
        validate_data_dir(data)
    assert phrase in str(err.value)


def test_end_minus_one_is_rejected_as_in_kaldi(tmp_path):
    data = make_data_dir(tmp_path, segments=True, num_speakers=2, utts_per_speaker=1)
    (data / "segments").write_text("spk1-utt1 spk1-rec 0 -1\nspk2-utt1 spk2-rec 0.1 -1\n")
    with pytest.raises(UserError, match=r"segments:1: .*an end of -1 is not allowed"):
        validate_data_dir(data, strict=False)


def test_spk2utt_disagreement(tmp_path):
    data = make_data_dir(tmp_path)
    (data / "spk2utt").write_text("spk1 spk1-utt1 spk1-utt2\nspk2 spk1-utt3 spk2-utt1 spk2-utt2 spk2-utt3\n")
    with pytest.raises(UserError, match=r"spk2utt:2: utterance 'spk1-utt3' of speaker 'spk2' is out of place"):
        validate_data_dir(data)


def test_utt2num_samples_must_match_audio(tmp_path):
    data = make_data_dir(tmp_path)
    lines = (data / "utt2num_samples").read_text().splitlines()
    lines[2] = lines[2].split()[0] + " 123"
    (data / "utt2num_samples").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"utt2num_samples:3: 'spk1-utt3' says '123' samples, the audio has 4000"):
        validate_data_dir(data)


def test_speaker_file_must_cover_speakers(tmp_path):
    data = make_data_dir(tmp_path)
    (data / "spk2gender").write_text("spk1 m\n")
    with pytest.raises(UserError, match=r"spk2gender: speaker 'spk2' \(spk2utt line 2\) is missing"):
        validate_data_dir(data)


def test_non_printable_text_and_optional_files(tmp_path):
    data = make_data_dir(tmp_path)
    text = (data / "text").read_text().splitlines()
    text[3] += " bell\x07"
    (data / "text").write_text("\n".join(text) + "\n")
    with pytest.raises(UserError, match=r"text:4: utterance 'spk2-utt1' has non-printable character '\\x07'"):
        validate_data_dir(data)
    assert validate_data_dir(data, non_print=True).num_utts == 6
    (data / "text").unlink()
    with pytest.raises(UserError, match=r"text: missing"):
        validate_data_dir(data)
    assert validate_data_dir(data, check_text=False).num_utts == 6


def test_several_problems_are_counted(tmp_path):
    data = make_data_dir(tmp_path)
    (data / "text").write_text("")
    with pytest.raises(UserError, match=r"text: empty \(and 1 more problems, logged above\)"):
        validate_data_dir(data)


@pytest.mark.parametrize("value", ["-3", "abc", "1.5", "0"])
def test_numeric_tables(tmp_path, value):
    data = make_data_dir(tmp_path)
    lines = (data / "utt2num_samples").read_text().splitlines()
    lines[3] = lines[3].split()[0] + " " + value
    (data / "utt2num_samples").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=rf"utt2num_samples:4: 'spk2-utt1' has '{value}', not a positive int"):
        validate_data_dir(data, check_audio=False)


def test_empty_data_dir(tmp_path):
    for name in ("utt2spk", "spk2utt", "text", "wav.scp"):
        (tmp_path / name).write_text("")
    with pytest.raises(UserError, match=r"utt2spk: empty: the data dir has no utterances"):
        validate_data_dir(tmp_path)
