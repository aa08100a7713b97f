"""Hostile inputs for the evaluation verbs (score, merge_scores, make_eval_list, make_report, codec_usage): each must be refused
with one clear message naming the culprit, exit non-zero, and leave every file as it was (above all an existing
score dir given with --overwrite true); see tts_codec.testing.hostile."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.hostile import Case, bad_numbers, check_case, data_dir, set_line
from tts_codec.testing.score_dirs import fake_utt_ids, make_score_dir

# ---- inputs ------------------------------------------------------------------------------------------------------


def _ref(ws: Path) -> Path:
    """A valid data dir of 0.25 s tones (the shortest audio every metric accepts)."""
    return data_dir(ws, name="ref")


def _score_argv(ws: Path, *extra: str) -> list:
    """score over ws/ref with its own audio as the generated audio (mel only: fast, no model)."""
    ref = _ref(ws)
    return ["--metrics", "mel", "--ref_dir", ref, "--gen_scp", ref / "wav.scp", "--out_dir", ws / "out", *extra]


def _parts(ws: Path) -> list[Path]:
    """Two finished score parts of one run, ws/p1 and ws/p2 (disjoint utterances)."""
    utts = fake_utt_ids(6)
    return [make_score_dir(ws / "p1", utts[:3]), make_score_dir(ws / "p2", utts[3:])]


def _merged(ws: Path) -> Path:
    """An existing merged score dir ws/merged: --overwrite true must never cost it."""
    return make_score_dir(ws / "merged", fake_utt_ids(6))


def _merge(edit=None, out: str = "merged", overwrite: bool = True):
    """A merge_scores setup: parts, an existing merged dir, then `edit(ws, parts)`, which may return the part list
    to pass instead of the two parts."""
    def setup(ws: Path) -> list:
        parts = _parts(ws)
        _merged(ws)
        given = edit(ws, parts) if edit else None
        args = given if isinstance(given, list) else parts
        return ["--out_dir", ws / out, *args, *(["--overwrite", "true"] if overwrite else [])]
    return setup


def _cell(path: Path, line: int, column: int, value: str) -> None:
    lines = path.read_text().splitlines()
    cells = lines[line - 1].split("\t")
    cells[column] = value
    lines[line - 1] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")


def _meta(ws: Path, line: str | bytes, wavs: bool = True) -> list:
    """make_eval_list seed over ws/meta.lst: a good first line, then `line`; prompt/gt wavs exist unless told."""
    for name in ("p.wav", "g.wav"):
        if wavs:
            (ws / name).write_bytes(b"RIFF")
    good = b"u1|a prompt|p.wav|the target text|g.wav\n"
    (ws / "meta.lst").write_bytes(good + (line if isinstance(line, bytes) else line.encode()) + b"\n")
    return ["seed", "--meta_lst", ws / "meta.lst", "--out_dir", ws / "seed"]


def _clone(edit):
    def setup(ws: Path) -> list:
        data = data_dir(ws)
        edit(data)
        return ["clone", "--data_dir", data, "--out_dir", ws / "clone"]
    return setup


def _report(edit=None, *extra: str):
    """make_report over ws/s (a fake score dir), `edit(score_dir)` applied first."""
    def setup(ws: Path) -> list:
        sdir = make_score_dir(ws / "s", fake_utt_ids(4))
        if edit:
            edit(sdir)
        return ["--score_dir", sdir, "--out_dir", ws / "report", "--html", "false", *extra]
    return setup


def _bad_reference_runs(ws: Path) -> list:
    (ws / "ref.tsv").write_text("system\tsetup\tsim\nlong\tx\t0.8\nother\ty\t0,8\n")
    return _report(None, "--reference_runs", str(ws / "ref.tsv"))(ws)


def _numbers(entry: str, option: str, argv) -> list[Case]:
    return [Case(entry, f"{option.strip('-')}_{name}", lambda ws, v=value: argv(ws, option, v), option)
            for name, value in bad_numbers(option)]


def _no_cuda(ws: Path) -> list:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: --device cuda is valid here")
    return _score_argv(ws, "--device", "cuda")


def _taken_out(ws: Path) -> list:
    """ws/out holding someone's audio (a score dir given by mistake)."""
    (ws / "out").mkdir()
    (ws / "out" / "gen.wav").write_bytes(b"precious")
    return []


# ---- cases -------------------------------------------------------------------------------------------------------

SCORE = [
    *[case for opt in ("--batch_size", "--nj", "--nj_part", "--asr_beam_size", "--asr_threads")
      for case in _numbers("score", opt, lambda ws, o, v: _score_argv(ws, o, v))],
    Case("score", "nj_part_above_nj", lambda ws: _score_argv(ws, "--nj", "2", "--nj_part", "3"), "--nj_part 3"),
    Case("score", "gen_scp_and_gen_dir", lambda ws: _score_argv(ws, "--gen_dir", ws / "ref_wav"),
         "give --gen_scp or --gen_dir, not both"),
    Case("score", "no_generated_audio", lambda ws: _score_argv(ws)[:4] + ["--out_dir", ws / "out"],
         "give --gen_scp or --gen_dir"),
    Case("score", "asr_model_dir_missing", lambda ws: _score_argv(ws, "--asr_model_dir", ws / "whisper"),
         "--asr_model_dir {ws}/whisper: no such directory"),
    Case("score", "speaker_model_dir_missing", lambda ws: _score_argv(ws, "--speaker_model_dir", ws / "wavlm"),
         "--speaker_model_dir {ws}/wavlm: no such directory"),
    Case("score", "gen_scp_missing", lambda ws: _score_argv(ws)[:4] + ["--gen_scp", ws / "g.scp", "--out_dir", ws / "o"],
         "--gen_scp {ws}/g.scp: no such file"),
    Case("score", "trials_missing", lambda ws: _score_argv(ws, "--trials", ws / "trials"), "--trials {ws}/trials"),
    Case("score", "trials_bad_utf8", lambda ws: _score_argv(ws, "--trials", _written(ws / "t", b"a b target\nc\xe9 d nontarget\n")),
         "{ws}/t:2"),
    Case("score", "trials_bad_label", lambda ws: _score_argv(ws, "--trials", _written(ws / "t", b"a b same\n")),
         "{ws}/t:1: expected `enroll test target|nontarget`"),
    Case("score", "timing_not_a_number", lambda ws: _score_argv(ws, "--metrics", "rtf", "--timing_file",
                                                                _written(ws / "tm", b"spk1-utt1 fast\n")),
         "{ws}/tm: utterance spk1-utt1: seconds 'fast' is not a number"),
    Case("score", "meta_lst_bad_utf8", lambda ws: _score_argv(ws, "--meta_lst", _written(ws / "m.lst", b"u|p|p.wav|caf\xe9\n")),
         "{ws}/m.lst:1"),
    Case("score", "device_cuda_without_cuda", _no_cuda, "--device 'cuda': CUDA is not available"),
    Case("score", "device_unknown", lambda ws: _score_argv(ws, "--device", "gpu"), "--device 'gpu': not a device"),
    Case("score", "device_unsupported", lambda ws: _score_argv(ws, "--device", "meta"),
         "--device 'meta': device type 'meta' is not supported"),
    Case("score", "metric_unknown", lambda ws: _score_argv(ws, "--metrics", "mel,moss"), "unknown or empty ['moss']"),
    Case("score", "every_utterance_failed",
         lambda ws: _score_argv(ws)[:4] + ["--gen_dir", ws / "nothing_here", "--out_dir", ws / "out"],
         "--gen_dir {ws}/nothing_here: no such directory"),
    Case("score", "every_wav_missing", lambda ws: [*_score_argv(ws)[:4], "--gen_scp", _gone(ws), "--out_dir", ws / "o"],
         "no utterance could be scored: all 6 failed every metric"),
    Case("score", "text_norm_unknown", lambda ws: _score_argv(ws, "--text_norm", "nfkc"), "--text_norm"),
    Case("score", "asr_compute_type_unknown", lambda ws: _score_argv(ws, "--asr_compute_type", "fp8"),
         "--asr_compute_type"),
    Case("score", "hyp_file_missing", lambda ws: _score_argv(ws, "--hyp_file", ws / "h.txt"), "--hyp_file {ws}/h.txt"),
    Case("score", "hyp_file_duplicate", lambda ws: _score_argv(ws, "--metrics", "wer", "--hyp_file",
                                                               _written(ws / "h.txt", b"a x\nb y\na z\n")),
         "{ws}/h.txt:3: duplicate key 'a'"),
    Case("score", "hyp_file_bad_utf8", lambda ws: _score_argv(ws, "--metrics", "wer", "--hyp_file",
                                                              _written(ws / "h.txt", b"a caf\xe9\n")), "{ws}/h.txt:1"),
    Case("score", "zh_without_chinese_asr", lambda ws: _score_argv(ws, "--metrics", "wer", "--lang", "zh"),
         "--lang zh needs a Chinese-capable ASR"),
    Case("score", "wer_lang_unknown", lambda ws: _score_argv(ws, "--metrics", "wer", "--lang", "fr"),
         "--lang 'fr': WER/CER rules exist for en, zh"),
    Case("score", "speaker_checkpoint_not_torch", lambda ws: _score_argv(ws, "--metrics", "sim", "--speaker_model_dir",
                                                                         _written(ws / "sv.pth", b"junk")),
         "--speaker_model_dir {ws}/sv.pth: cannot load as a tensor-only torch checkpoint"),
    Case("score", "meta_lst_six_fields", lambda ws: _score_argv(ws, "--meta_lst", _written(ws / "m.lst", b"u|a|b|c|d|e\n")),
         "{ws}/m.lst:1: expected 2, 3, 4 or 5"),
    Case("score", "out_dir_exists", lambda ws: [*_score_argv(ws), *_made(ws, "out")], "already exists"),
    Case("score", "out_dir_is_the_ref_dir",
         lambda ws: [*_score_argv(ws)[:-1], ws / "ref", "--overwrite", "true"], "is also an input"),
    Case("score", "out_dir_holds_other_files", lambda ws: [*_taken_out(ws), *_score_argv(ws), "--overwrite", "true"],
         "gen.wav, which are not score files"),
]


def _written(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _gone(ws: Path) -> Path:
    """A gen scp whose every wav is missing."""
    lines = [f"spk{k}-utt{j} {ws}/gone/{k}{j}.wav" for k in (1, 2) for j in (1, 2, 3)]
    (ws / "gone.scp").write_text("\n".join(lines) + "\n")
    return ws / "gone.scp"


def _made(ws: Path, name: str) -> list:
    """An existing score dir ws/name."""
    make_score_dir(ws / name, fake_utt_ids(2))
    return []


def _old_report(ws: Path) -> list:
    (ws / "report").mkdir()
    (ws / "report" / "RESULTS.md").write_text("old\n")
    return _report()(ws)


def _page_on_score_dir(ws: Path) -> list:
    """--out_dir ws whose html/ is the score dir itself."""
    sdir = make_score_dir(ws / "html", fake_utt_ids(3))
    return ["--score_dir", sdir, "--out_dir", ws, "--gen_scp", _gone(ws), "--overwrite", "true"]


MERGE = [
    Case("merge_scores", "part_missing", _merge(lambda ws, p: [*p, ws / "p3"]), "part {ws}/p3 has no summary.json"),
    Case("merge_scores", "out_is_a_part", _merge(lambda ws, p: [*p, ws / "merged"]), "is also an input"),
    Case("merge_scores", "part_inside_out",
         _merge(lambda ws, p: [*p, make_score_dir(ws / "merged" / "p3", fake_utt_ids(8)[6:])]),
         "contains input"),
    Case("merge_scores", "part_twice", _merge(lambda ws, p: [*p, p[0]]), "a part dir is listed twice"),
    Case("merge_scores", "parts_overlap", _merge(lambda ws, p: [p[0], make_score_dir(ws / "p4", fake_utt_ids(6)[2:])]),
         "is in more than one part"),
    Case("merge_scores", "cell_not_a_number", _merge(lambda ws, p: _cell(p[1] / "per_utt.tsv", 3, 2, "abc")),
         "{ws}/p2/per_utt.tsv:3: column pesq_wb: not a number: 'abc'"),
    Case("merge_scores", "per_utt_bad_utf8", _merge(lambda ws, p: set_line(p[0] / "per_utt.tsv", 2, b"caf\xe9")),
         "{ws}/p1/per_utt.tsv:2"),
    Case("merge_scores", "per_utt_short_row", _merge(lambda ws, p: set_line(p[0] / "per_utt.tsv", 3, "x\t1")),
         "{ws}/p1/per_utt.tsv:3: 2 columns"),
    Case("merge_scores", "summary_broken", _merge(lambda ws, p: (p[1] / "summary.json").write_text('{\n "metrics": {\n')),
         "{ws}/p2/summary.json:2: not valid JSON"),
    Case("merge_scores", "summary_nan",
         _merge(lambda ws, p: (p[0] / "summary.json").write_text('{"metrics": {},\n "x": NaN}\n')),
         "{ws}/p1/summary.json:2: non-finite number NaN"),
    Case("merge_scores", "summary_models_not_object",
         _merge(lambda ws, p: (p[0] / "summary.json").write_text('{"metrics": {}, "models": 5}\n')),
         "\"models\" must be an object"),
    Case("merge_scores", "failures_broken", _merge(lambda ws, p: (p[0] / "failures.tsv").write_text("u1\n")),
         "{ws}/p1/failures.tsv:1"),
    Case("merge_scores", "trials_broken", _merge(lambda ws, p: (p[0] / "trials_scored.txt").write_text("a b c\n")),
         "{ws}/p1/trials_scored.txt:1"),
    Case("merge_scores", "out_exists_without_overwrite", _merge(overwrite=False), "already exists"),
    Case("merge_scores", "out_holds_other_files",
         _merge(lambda ws, p: (ws / "merged" / "notes.txt").write_text("mine\n")), "notes.txt, which are not"),
]

EVAL_LIST = [
    Case("make_eval_list", "meta_bad_utf8", lambda ws: _meta(ws, b"u2|p|p.wav|caf\xe9|g.wav"), "{ws}/meta.lst:2"),
    Case("make_eval_list", "meta_empty_text", lambda ws: _meta(ws, "u2|p|p.wav||g.wav"),
         "{ws}/meta.lst:2: infer_text: empty text"),
    Case("make_eval_list", "meta_blank_text", lambda ws: _meta(ws, "u2|p|p.wav|   |g.wav"),
         "{ws}/meta.lst:2: infer_text: text of blanks only"),
    Case("make_eval_list", "meta_punctuation_text", lambda ws: _meta(ws, "u2|p|p.wav| ?!... |g.wav"),
         "{ws}/meta.lst:2: infer_text: text '?!...' has no letter or digit"),
    Case("make_eval_list", "meta_control_text", lambda ws: _meta(ws, "u2|p|p.wav|ring \x07 bell|g.wav"),
         "{ws}/meta.lst:2: infer_text: control character U+0007"),
    Case("make_eval_list", "meta_control_prompt_text", lambda ws: _meta(ws, "u2|a\x1bb|p.wav|text|g.wav"),
         "{ws}/meta.lst:2: prompt_text: control character U+001B"),
    Case("make_eval_list", "meta_prompt_wav_missing", lambda ws: _meta(ws, "u2|p|gone.wav|text|g.wav"),
         "{ws}/meta.lst:2: prompt_wav {ws}/gone.wav: no such file"),
    Case("make_eval_list", "meta_fields", lambda ws: _meta(ws, "u2|p|p.wav|t|g.wav|x"),
         "{ws}/meta.lst:2: expected 2, 3, 4 or 5"),
    Case("make_eval_list", "meta_without_prompt", lambda ws: _meta(ws, "u2|say this"),
         "{ws}/meta.lst:2: no prompt_wav: a `utt|infer_text` line can be scored, not cloned"),
    Case("make_eval_list", "clone_empty_text", _clone(lambda d: set_line(d / "text", 2, "spk1-utt2")),
         "{ws}/data/text:2: utterance spk1-utt2: empty text"),
    Case("make_eval_list", "clone_punctuation_text", _clone(lambda d: set_line(d / "text", 1, "spk1-utt1 ... !")),
         "{ws}/data/text:1: utterance spk1-utt1: text '... !' has no letter or digit"),
    Case("make_eval_list", "clone_wav_missing", _clone(lambda d: (d.parent / "data_wav" / "spk2-utt1.wav").unlink()),
         "{ws}/data/wav.scp:4: utterance spk2-utt1"),
    Case("make_eval_list", "clone_into_its_data_dir",
         lambda ws: ["clone", "--data_dir", data_dir(ws), "--out_dir", ws / "data", "--overwrite", "true"],
         "is also an input"),
    *[Case("make_eval_list", f"codec_{opt}_{name}",
           lambda ws, o=opt, v=value: ["codec", "--data_dir", data_dir(ws), "--out_dir", ws / "c", f"--{o}", v], opt)
      for opt in ("max_utts", "min_dur", "max_dur") for name, value in bad_numbers(opt)
      if not (opt == "min_dur" and value == "0") and not (opt == "max_utts" and value == "0")],
    Case("make_eval_list", "codec_max_utts_minus_one",
         lambda ws: ["codec", "--data_dir", data_dir(ws), "--out_dir", ws / "c", "--max_utts", "-1"],
         "--max_utts: expected an integer >= 0, got '-1'"),
    Case("make_eval_list", "codec_empty_range",
         lambda ws: ["codec", "--data_dir", data_dir(ws), "--out_dir", ws / "c", "--min_dur", "5", "--max_dur", "2"],
         "--min_dur 5.0 is above --max_dur 2.0"),
    Case("make_eval_list", "codec_out_exists",
         lambda ws: ["codec", "--data_dir", data_dir(ws), "--out_dir", data_dir(ws, name="taken")], "already exists"),
]

REPORT = [
    Case("make_report", "summary_nan",
         _report(lambda s: (s / "summary.json").write_text((s / "summary.json").read_text().replace(
             '"mean": ', '"mean": NaN, "was": ', 1))), "{ws}/s/summary.json:4: non-finite number NaN"),
    Case("make_report", "summary_broken", _report(lambda s: (s / "summary.json").write_text("{")),
         "{ws}/s/summary.json:1: not valid JSON"),
    Case("make_report", "cell_not_a_number", _report(lambda s: _cell(s / "per_utt.tsv", 2, 1, "0,5")),
         "{ws}/s/per_utt.tsv:2: column wer: not a number: '0,5'"),
    Case("make_report", "score_dir_missing", lambda ws: ["--score_dir", ws / "s", "--out_dir", ws / "r"],
         "score dir {ws}/s: no such directory"),
    *[Case("make_report", f"max_rows_{name}", lambda ws, v=value: _report()(ws) + ["--max_rows", v], "--max_rows")
      for name, value in bad_numbers("--max_rows")],
    Case("make_report", "report_exists", _old_report, "already exists"),
    Case("make_report", "page_is_the_score_dir", _page_on_score_dir, "is also an input"),
    Case("make_report", "gen_scp_missing", _report(None, "--html", "true", "--gen_scp", "/nonexistent.scp"),
         "--gen_scp: /nonexistent.scp does not exist"),
    Case("make_report", "reference_runs_missing", _report(None, "--reference_runs", "/nonexistent.tsv"),
         "reference runs /nonexistent.tsv: cannot read"),
    Case("make_report", "reference_runs_bad_cell", _bad_reference_runs, "{ws}/ref.tsv:3: sim = '0,8' is not a finite"),
]



def _ro(ws: Path) -> Path:
    (ws / "ro").mkdir()
    return ws / "ro" / "out"


READ_ONLY = [  # the output's parent is read-only (run as a subprocess, without root's override)
    Case("score", "read_only_parent", lambda ws: [*_score_argv(ws)[:-1], _ro(ws)], "{ws}/ro", read_only=("ro",)),
    Case("merge_scores", "read_only_parent", lambda ws: ["--out_dir", _ro(ws), *_parts(ws)], "{ws}/ro",
         read_only=("ro",)),
    Case("make_eval_list", "read_only_parent", lambda ws: ["clone", "--data_dir", data_dir(ws), "--out_dir", _ro(ws)],
         "{ws}/ro", read_only=("ro",)),
    Case("make_report", "read_only_parent", lambda ws: [*_report()(ws)[:3], _ro(ws), "--html", "false"], "{ws}/ro",
         read_only=("ro",)),
]

CODEC_USAGE = [
    Case("codec_usage", "codes_dir_missing", lambda ws: ["--codes_dir", ws / "codes", "--score_dir", _made_dir(ws)],
         "{ws}/codes/codes_info.json: not found"),
    Case("codec_usage", "score_dir_unfinished", lambda ws: ["--codes_dir", ws, "--score_dir", ws], "no summary.json"),
    Case("codec_usage", "summary_broken",
         lambda ws: ["--codes_dir", ws / "codes", "--score_dir", _made_dir(ws, lambda s: (s / "summary.json").write_text(
             '{"metrics": [1]}'))], "{ws}/s/summary.json: missing the \"metrics\" object"),
]


def _made_dir(ws: Path, edit=None) -> Path:
    sdir = make_score_dir(ws / "s", fake_utt_ids(2))
    if edit:
        edit(sdir)
    return sdir


CASES = SCORE + MERGE + EVAL_LIST + REPORT + READ_ONLY + CODEC_USAGE


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
