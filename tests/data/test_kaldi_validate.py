"""validate_data_dir against Kaldi's utils/validate_data_dir.sh: the expected verdicts are Kaldi's, written by hand
from its script (what it accepts must pass by default, what it rejects must fail naming file and line)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.bin import validate_data_dir as validate_cli
from tts_codec.data.validate import validate_data_dir
from tts_codec.errors import UserError

UTT2SPK = "a-1 a\na-2 a\nb-1 b\n"
SPK2UTT = "a a-1 a-2\nb b-1\n"
TEXT = "a-1 hello world\na-2 good morning\nb-1 thank you\n"
WAV = "a-1 /data/a1.wav\na-2 /data/a2.wav\nb-1 sox /data/b1.flac -t wav - |\n"


def kaldi_dir(tmp_path: Path, **files: str | bytes) -> Path:
    """A small data dir Kaldi accepts (with --no-feats), with `files` replaced (None removes one)."""
    data = tmp_path / "data"
    data.mkdir(parents=True)
    contents = {"utt2spk": UTT2SPK, "spk2utt": SPK2UTT, "text": TEXT, "wav.scp": WAV}
    contents.update({name.replace("_", ".") if name == "wav_scp" else name: v for name, v in files.items()})
    for name, content in contents.items():
        if content is not None:
            (data / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return data


def kaldi_verdict(data: Path, **opts) -> str | None:
    """None when the default (Kaldi) validation accepts `data`, else the error message."""
    try:
        validate_data_dir(data, strict=False, **opts)
    except UserError as err:
        return str(err)
    return None


# Accepted before, rejected by Kaldi: (files, the file:line the error must name, a phrase of it)
REJECTED_BY_KALDI = {
    "crlf_in_utt2spk": ({"utt2spk": UTT2SPK.replace("\n", "\r\n")}, "utt2spk:1", "carriage return"),
    "crlf_in_wav_scp": ({"wav_scp": WAV.replace("\n", "\r\n")}, "wav.scp:1", "carriage return"),
    "crlf_in_text": ({"text": TEXT.replace("\n", "\r\n")}, "text:1", "carriage return"),
    "no_final_newline": ({"text": TEXT.rstrip("\n")}, "text:3", "no newline"),
    "segment_end_minus_one": ({"segments": "a-1 r1 0 -1\na-2 r1 1.5 2.5\nb-1 r2 0 1\n",
                               "wav_scp": "r1 /data/r1.wav\nr2 /data/r2.wav\n"}, "segments:1", "end > start"),
    "recording_without_segments": ({"segments": "a-1 r1 0 1\na-2 r1 1.5 2.5\nb-1 r2 0 1\n",
                                    "wav_scp": "r1 /data/r1.wav\nr2 /data/r2.wav\nr3 /data/r3.wav\n"},
                                   "wav.scp:3", "used by no segment"),
    "spk2gender_not_m_f": ({"spk2gender": "a male\nb f\n"}, "spk2gender:1", "m|f"),
    "sentence_start_in_text": ({"text": "a-1 <s> hello\na-2 good morning\nb-1 thank you\n"}, "text:1", "<s>"),
    "sentence_end_in_text": ({"text": "a-1 hello\na-2 good morning </s>\nb-1 thank you\n"}, "text:2", "</s>"),
    "disambig_in_text": ({"text": "a-1 hello\na-2 good\nb-1 #0.\n"}, "text:3", "#0"),
    "non_breaking_space": ({"text": "a-1 hello\u00a0world\na-2 good morning\nb-1 thank you\n"}, "text:1",
                           "U+00A0"),
    "tilde_path": ({"wav_scp": "a-1 ~/a1.wav\na-2 /data/a2.wav\nb-1 /data/b1.wav\n"}, "wav.scp:1", "~"),
    "spk2utt_out_of_order": ({"spk2utt": "a a-2 a-1\nb b-1\n"}, "spk2utt:1", "out of place"),
    "spk2utt_twice": ({"spk2utt": "a a-1 a-1 a-2\nb b-1\n"}, "spk2utt:1", "out of place"),
    "utt2spk_not_sorted_by_speaker": ({"utt2spk": "a-1 b\na-2 a\nb-1 a\n", "spk2utt": "a a-2 b-1\nb a-1\n"},
                                      "utt2spk:2", "sorted by speaker"),
    "control_character": ({"text": "a-1 hello\x07\na-2 good morning\nb-1 thank you\n"}, "text:1",
                          "non-printable"),
    "utt2dur_not_positive": ({"utt2dur": "a-1 1.5\na-2 0\nb-1 2\n"}, "utt2dur:2", "positive duration"),
    "empty_spk2utt_line": ({"spk2utt": "a a-1 a-2\nb\n"}, "spk2utt:2", "no utterances"),
}


@pytest.mark.parametrize("case", sorted(REJECTED_BY_KALDI))
def test_what_kaldi_rejects_is_rejected_naming_file_and_line(tmp_path, case):
    files, where, phrase = REJECTED_BY_KALDI[case]
    data = kaldi_dir(tmp_path, **files)
    verdict = kaldi_verdict(data)
    assert verdict is not None and verdict.startswith(f"{data}/{where}:"), verdict
    assert phrase in verdict


# Rejected before, accepted by Kaldi
ACCEPTED_BY_KALDI = {
    "ids_not_speaker_prefixed_but_sorted": {"utt2spk": "u1 a\nu2 a\nu3 b\n", "spk2utt": "a u1 u2\nb u3\n",
                                            "text": "u1 x\nu2 y\nu3 z\n", "wav_scp": "u1 1.wav\nu2 2.wav\nu3 3.wav\n"},
    "empty_text_line": {"text": "a-1 hello\na-2\nb-1 thank you\n"},
    "latin1_text": {"text": "a-1 caf\xe9\na-2 good\nb-1 thank you\n".encode("latin-1")},
    "extra_utt_file_missing_an_utterance": {"utt2gender": "a-1 m\n"},
    "speed_perturbed_ids": {"utt2spk": "a-1-sp1.1 a-sp1.1\na-2-sp1.1 a-sp1.1\nb-1-sp1.1 b-sp1.1\n",
                            "spk2utt": "a-sp1.1 a-1-sp1.1 a-2-sp1.1\nb-sp1.1 b-1-sp1.1\n",
                            "text": "a-1-sp1.1 x\na-2-sp1.1 y\nb-1-sp1.1 z\n",
                            "wav_scp": "a-1-sp1.1 1.wav\na-2-sp1.1 2.wav\nb-1-sp1.1 3.wav\n"},
    "unreadable_audio": {"wav_scp": "a-1 /nonexistent/a1.wav\na-2 false |\nb-1 /dev/null\n"},
    "word_containing_s_tag": {"text": "a-1 x<s>y\na-2 a#01\nb-1 thank you\n"},
    "channel_one_warns": {"reco2file_and_channel": "a-1 a1 1\na-2 a2 A\nb-1 b1 B\n"},
}


@pytest.mark.parametrize("case", sorted(ACCEPTED_BY_KALDI))
def test_what_kaldi_accepts_passes_by_default(tmp_path, case):
    assert kaldi_verdict(kaldi_dir(tmp_path, **ACCEPTED_BY_KALDI[case])) is None


def test_no_text_skips_text_entirely_as_in_kaldi(tmp_path):
    data = kaldi_dir(tmp_path, text="a-1 <s> hello\r\nzz-9 unknown\n")
    assert kaldi_verdict(data) is not None
    assert kaldi_verdict(data, check_text=False) is None


def test_non_print_and_no_spk_sort_options(tmp_path):
    data = kaldi_dir(tmp_path, text="a-1 hello\x07\na-2 good morning\nb-1 thank you\n")
    assert kaldi_verdict(data, non_print=True) is None
    unsorted = kaldi_dir(tmp_path / "x", utt2spk="a-1 b\na-2 a\nb-1 a\n", spk2utt="a a-2 b-1\nb a-1\n")
    assert kaldi_verdict(unsorted, check_spk_sort=False) is None  # spk2utt agrees speaker by speaker


def test_strict_keeps_the_project_checks(tmp_path):
    data = kaldi_dir(tmp_path, text="a-1 hello\na-2\nb-1 thank you\n")
    with pytest.raises(UserError, match=r"text:2: utterance 'a-2' has empty text"):
        validate_data_dir(data, check_audio=False, strict=True)
    latin = kaldi_dir(tmp_path / "l", text="a-1 caf\xe9\na-2 good\nb-1 thank you\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"text:1: invalid UTF-8"):
        validate_data_dir(latin, check_audio=False, strict=True)


def test_cli_defaults_to_kaldi_and_strict_opens_audio(tmp_path, capsys):
    data = kaldi_dir(tmp_path, wav_scp="a-1 /nonexistent/a1.wav\na-2 /nonexistent/a2.wav\nb-1 /nonexistent/b1.wav\n")
    assert validate_cli.main([str(data)]) == 0
    assert capsys.readouterr().out.strip() == f"{data}: OK (3 utterances, 2 speakers, 3 recordings, 0 warnings)"
    with pytest.raises(UserError, match=r"wav\.scp:1: "):
        validate_cli.main([str(data), "--strict"])
    assert validate_cli.main([str(data), "--strict", "--no-audio-check", "--no-feats"]) == 0
