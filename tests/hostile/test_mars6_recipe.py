"""Hostile inputs for the options the MARS6 recipe wiring added: mars6_preference --config (stage 9's YAML),
extract_xvectors --config (stage 3 reads the LM config's speaker_embedding) and extract_attributes --keep_present;
each is refused with one clear message naming the culprit, a non-zero exit, and every file left as it was."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.hostile import Case, check_case, data_dir


def _pref_args(ws: Path, config: str | None) -> list:
    (ws / "meta.lst").write_text("u1|hello there|ref.wav|say this\n")
    args = ["--lm_dir", ws / "lm", "--codec_dir", ws / "codec", "--meta_lst", ws / "meta.lst", "--out_dir", ws / "orpo"]
    if config is not None:
        (ws / "orpo.yaml").write_text(config)
        args += ["--config", ws / "orpo.yaml"]
    return args


def _xvec_config(ws: Path, text: str) -> list:
    (ws / "lm.yaml").write_text(text)
    return ["--data_dir", data_dir(ws), "--output_dir", ws / "xvector", "--config", ws / "lm.yaml"]


CASES = [
    Case("mars6_preference", "config_unknown_key", lambda ws: _pref_args(ws, "num_candidate: 4\n"),
         "unknown option(s) num_candidate"),
    Case("mars6_preference", "config_bad_value", lambda ws: _pref_args(ws, "max_steps: 0\n"), "--max_steps"),
    Case("mars6_preference", "config_not_a_mapping", lambda ws: _pref_args(ws, "- 1\n- 2\n"), "{ws}/orpo.yaml"),
    Case("mars6_preference", "config_missing",
         lambda ws: [*_pref_args(ws, None), "--config", ws / "nope.yaml"], "{ws}/nope.yaml"),
    Case("extract_xvectors", "config_unknown_extractor",
         lambda ws: _xvec_config(ws, "speaker_embedding: {extractor: clap}\n"), "clap"),
    Case("extract_xvectors", "config_wavlm_without_model_dir",
         lambda ws: _xvec_config(ws, "speaker_embedding: {extractor: wavlm}\n"), "needs model_dir"),
    Case("extract_attributes", "keep_present_not_a_bool",
         lambda ws: ["--data_dir", data_dir(ws), "--keep_present", "yes please"], "--keep_present"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_refused_cleanly(case: Case, tmp_path: Path) -> None:
    check_case(case, tmp_path / "ws")
