"""Hostile inputs for the Kaldi forms and options of the data-dir tools (issue 14): Kaldi's positional subset
forms, --per-utt splits, combine's --skip-fix/--extra-files, fix's --spk-extra-files, Kaldi-only validation
failures and parse_options' --config read as shell. Each is refused with one line naming the culprit."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.hostile import Case, check_case, data_dir, set_line


def _data(ws: Path, **kwargs) -> Path:
    return data_dir(ws, **kwargs)


def _edited(edit):
    def setup(ws: Path) -> list:
        data = _data(ws)
        edit(data)
        return [data]
    return setup


PROG = """nj=4
cmd=run.pl
. "{repo}/utils/parse_options.sh"
echo "ran" > ran.txt
"""


def _prog(ws: Path, conf: bytes, *argv) -> list:
    from tts_codec.testing.hostile import REPO

    (ws / "prog.sh").write_text(PROG.format(repo=REPO))
    (ws / "c.conf").write_bytes(conf)
    return ["--config", ws / "c.conf", *argv]


CASES = [
    Case("subset_data_dir", "kaldi_form_n_not_a_number", lambda ws: ["--first", _data(ws), "many", ws / "o"],
         "--first many"),
    Case("subset_data_dir", "kaldi_form_too_many", lambda ws: [_data(ws), "99", ws / "o"], "N = 99"),
    Case("subset_data_dir", "kaldi_form_missing_dest", lambda ws: ["--per-spk", _data(ws), "2"], "<dest-dir>"),
    Case("subset_data_dir", "shortest_without_lengths",
         lambda ws: ["--shortest", _data(ws, extra=False), "2", ws / "o"], "--shortest needs utterance lengths"),
    Case("split_data", "per_utt_too_many_parts", lambda ws: ["--per-utt", _data(ws), "7"], "only 6 utterances"),
    Case("split_data", "per_utt_and_per_spk", lambda ws: ["--per-utt", "--per-spk", _data(ws), "2"], "--per_spk"),
    Case("combine_data", "skip_fix_not_bool", lambda ws: ["--skip-fix", "maybe", ws / "o", _data(ws)], "maybe"),
    Case("combine_data", "extra_file_bad_utf8",
         lambda ws: ["--extra-files", "notes", ws / "o", _edited(lambda d: (d / "notes").write_bytes(
             b"spk1-utt1 caf\xe9\n"))(ws)[0]], "{ws}/data/notes:1"),
    Case("fix_data_dir", "spk_extra_file_bad_utf8",
         lambda ws: ["--spk-extra-files", "spk_info",
                     *_edited(lambda d: (d / "spk_info").write_bytes(b"spk1 \xff\n"))(ws)], "{ws}/data/spk_info:1"),
    Case("validate_data_dir", "kaldi_crlf", _edited(lambda d: set_line(d / "wav.scp", 2, b"spk1-utt2 x.wav\r")),
         "{ws}/data/wav.scp:2"),
    Case("validate_data_dir", "kaldi_segment_end_minus_one",
         lambda ws: [set_line(_data(ws, segments=True) / "segments", 1, "spk1-utt1 spk1-rec 0 -1").parent],
         "{ws}/data/segments:1"),
    Case("validate_data_dir", "kaldi_tilde", _edited(lambda d: set_line(d / "wav.scp", 1, "spk1-utt1 ~/a.wav")),
         "{ws}/data/wav.scp:1"),
    Case("./prog.sh", "config_unbalanced_quote", lambda ws: _prog(ws, b'cmd="queue.pl\n'), "{ws}/c.conf:1"),
    Case("./prog.sh", "config_empty_cmd", lambda ws: _prog(ws, b'cmd=""\n'), "empty argument to --cmd"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
