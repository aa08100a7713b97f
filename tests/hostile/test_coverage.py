"""The hostile suite covers the entry points: every utils/*.sh and every verb of tts_codec/bin (a new verb comes
with its cases; the verbs still without any are listed in NOT_YET_COVERED)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parents[1]
#: utils files that are sourced helpers, exercised through the scripts that source them
SOURCED = {"utils/find_python.sh", "utils/parse_options.sh"}
DATA_AND_JOB_VERBS = {"fix_data_dir", "subset_data_dir", "copy_data_dir", "combine_data", "split_data",
                      "utt2spk_to_spk2utt", "spk2utt_to_utt2spk", "filter_scp", "validate_data_dir", "format_audio",
                      "merge_scp", "run_jobs"}
#: tts_codec/bin verbs that have no hostile cases yet; this list may only shrink
NOT_YET_COVERED: set[str] = set()


def _all_cases() -> list:
    cases = []
    for path in sorted(HERE.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        spec = importlib.util.spec_from_file_location(f"hostile_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cases += getattr(module, "CASES", [])
    return cases


def test_every_utils_script_and_data_verb_has_cases() -> None:
    entries = {c.entry for c in _all_cases()}
    scripts = {f"utils/{p.name}" for p in (REPO / "utils").glob("*.sh")} - SOURCED
    assert not scripts - entries, f"utils scripts without hostile cases: {sorted(scripts - entries)}"
    assert not DATA_AND_JOB_VERBS - entries, f"verbs without hostile cases: {sorted(DATA_AND_JOB_VERBS - entries)}"
    assert "./prog.sh" in entries, "utils/parse_options.sh has no cases (they run through a ./prog.sh sourcing it)"


def test_every_bin_verb_has_cases_or_is_listed_as_pending() -> None:
    entries = {c.entry for c in _all_cases()}
    verbs = {p.stem for p in (REPO / "tts_codec" / "bin").glob("*.py") if p.stem != "__init__"}
    missing = verbs - entries - NOT_YET_COVERED
    assert not missing, f"tts_codec/bin verbs without hostile cases (add a CASES table in tests/hostile/): {missing}"
    covered = NOT_YET_COVERED & entries
    assert not covered, f"verbs listed as not yet covered have cases now; remove them from the list: {covered}"


def test_case_ids_are_unique_across_the_suite() -> None:
    ids = [c.id for c in _all_cases()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
