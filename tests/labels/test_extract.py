"""Labelling a data dir: known answers from eSpeak settings, `unknown` where nothing can be measured, files, resume,
merging parts."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile
from scipy.stats import spearmanr

from tts_codec.attributes import LEVELS
from tts_codec.data.datadir import DataDir
from tts_codec.data.validate import validate_data_dir
from tts_codec.errors import UserError
from tts_codec.labels.extract import (INFO_FILE, LABEL_FILES, LabelSettings, is_labelled, label_data_dir,
                                      level_summary, merge_parts, write_labels)
from tts_codec.testing.datadirs import make_data_dir


@pytest.fixture(scope="module")
def prosody_labels(prosody_dir):
    data = DataDir.load(prosody_dir)
    return data, label_data_dir(data, LabelSettings.create())


def _per_voice(data, tables, setting, label, fixed):
    """Spearman rank correlation of an eSpeak setting with a measured value per voice, over the utterances whose
    other setting is held at `fixed` (name, value)."""
    rhos = {}
    for spk in data.speakers:
        utts = [u for u in data.utt_ids if data.utt2spk[u] == spk and data.extra[fixed[0]][u] == fixed[1]]
        rhos[spk] = spearmanr([int(data.extra[setting][u]) for u in utts],
                              [int(tables[label][u]) for u in utts]).statistic
    return rhos


def test_pitch_value_rises_with_the_espeak_pitch_setting(prosody_labels):
    data, tables = prosody_labels
    rhos = _per_voice(data, tables, "utt2espeak_pitch", "utt2pitch_value", ("utt2espeak_rate", "140"))
    assert all(rho >= 0.8 for rho in rhos.values()), rhos
    female = [int(tables["utt2pitch_value"][u]) for u in data.utt_ids if data.utt2spk[u] == "spk2"]
    male = [int(tables["utt2pitch_value"][u]) for u in data.utt_ids if data.utt2spk[u] == "spk1"]
    assert np.median(female) > np.median(male) + 50  # about an octave apart in Hz, > 50 mel


def test_speed_value_rises_with_the_espeak_rate(prosody_labels):
    data, tables = prosody_labels
    rhos = _per_voice(data, tables, "utt2espeak_rate", "utt2speed_value", ("utt2espeak_pitch", "50"))
    assert all(rho >= 0.8 for rho in rhos.values()), rhos
    levels = [LEVELS.index(tables["utt2speed"][u]) for u in data.utt_ids if data.extra["utt2espeak_pitch"][u] == "50"]
    assert max(levels) - min(levels) >= 2  # 90 vs 210 words per minute lie two or more levels apart


def test_labels_are_complete_levels_and_genders_from_metadata(prosody_labels):
    data, tables = prosody_labels
    assert set(tables) == set(LABEL_FILES)
    for name, table in tables.items():
        assert set(table) == set(data.utt_ids), name
    assert set(tables["utt2pitch"].values()) <= set(LEVELS) and set(tables["utt2speed"].values()) <= set(LEVELS)
    assert {tables["utt2gender"][u] for u in data.utt_ids if u.startswith("spk1")} == {"male"}
    assert {tables["utt2gender"][u] for u in data.utt_ids if u.startswith("spk2")} == {"female"}
    assert all(0 <= int(v) <= 1000 for v in tables["utt2pitch_value"].values())
    assert all(0 <= int(v) <= 10 for v in tables["utt2speed_value"].values())
    summary = level_summary(tables)
    assert summary.startswith("pitch: very_low ") and "gender: female 8, male 8, unknown 0" in summary


def test_unmeasurable_utterances_and_missing_gender_are_unknown(tmp_path):
    data_path = make_data_dir(tmp_path, extra=False, duration=0.5)  # tones, no gender metadata
    data = DataDir.load(data_path)
    silent = data.utt_ids[0]
    soundfile.write(data.wav_scp[silent], np.zeros(8000, dtype=np.float32), 16000)
    data.text[data.utt_ids[1]] = "   "
    tables = label_data_dir(data, LabelSettings.create())
    assert set(tables["utt2gender"].values()) == {"unknown"}
    assert set(tables["utt2pitch"].values()) == {"unknown"}  # levels need a gender
    assert tables["utt2pitch_value"][silent] == "unknown" and tables["utt2speed"][silent] == "unknown"
    assert tables["utt2speed_value"][data.utt_ids[1]] == "unknown"  # no text, no syllables
    measured = data.utt_ids[2]
    assert tables["utt2pitch_value"][measured].isdigit() and tables["utt2speed"][measured] in LEVELS


def test_a_data_dir_with_nothing_to_measure_is_an_error(tmp_path):
    data = DataDir.load(make_data_dir(tmp_path, utts_per_speaker=1))
    for path in data.wav_scp.values():
        soundfile.write(path, np.zeros(4000, dtype=np.float32), 16000)
    with pytest.raises(UserError, match="no utterance has voiced speech to measure"):
        label_data_dir(data, LabelSettings.create())


def test_spk2gender_fills_in_and_bad_gender_values_are_named(tmp_path):
    data_path = make_data_dir(tmp_path)
    (data_path / "utt2gender").unlink()
    data = DataDir.load(data_path)
    tables = label_data_dir(data.subset(data.utt_ids[:1]), LabelSettings.create())
    assert tables["utt2gender"] == {"spk1-utt1": "male"}  # spk2gender: spk1 m
    (data_path / "spk2gender").write_text("spk1 x\nspk2 f\n")
    with pytest.raises(UserError, match=r"spk2gender: entry spk1: unknown gender label 'x'"):
        label_data_dir(DataDir.load(data_path), LabelSettings.create())


def test_language_without_boundaries_is_an_error(tmp_path):
    data_path = make_data_dir(tmp_path)
    with pytest.raises(UserError, match="--lang: language 'de' has no speed boundaries"):
        LabelSettings.create(default_lang="de")
    (data_path / "utt2lang").write_text("".join(f"{u} de-DE\n" for u in DataDir.load(data_path).utt_ids))
    with pytest.raises(UserError, match=r"utt2lang: spk1-utt1: language 'de-DE' has no speed boundaries"):
        label_data_dir(DataDir.load(data_path), LabelSettings.create())


def test_written_labels_validate_resume_and_refuse_foreign_files(prosody_dir, prosody_labels, tmp_path):
    data, tables = prosody_labels
    out = tmp_path / "data"
    shutil.copytree(prosody_dir, out)
    info = LabelSettings.create().info()
    assert not is_labelled(out, data.utt_ids, info)
    write_labels(out, tables, info, overwrite=False)
    assert is_labelled(out, data.utt_ids, info) and (out / INFO_FILE).is_file()
    assert validate_data_dir(out).num_utts == len(data)
    assert not is_labelled(out, data.utt_ids[:-1], info)
    other = LabelSettings.create(default_lang="zh").info()
    assert not is_labelled(out, data.utt_ids, other)
    with pytest.raises(UserError, match="utt2pitch exists and was not labelled with these settings"):
        write_labels(out, tables, other, overwrite=False)
    write_labels(out, tables, other, overwrite=True)
    assert is_labelled(out, data.utt_ids, other)


def test_merge_joins_parts_and_checks_coverage(prosody_labels, tmp_path):
    data, tables = prosody_labels
    info = LabelSettings.create().info()
    halves = [data.utt_ids[:5], data.utt_ids[5:]]
    parts = []
    for i, utts in enumerate(halves, 1):
        parts.append(tmp_path / f"part.{i}")
        write_labels(parts[-1], {n: {u: t[u] for u in utts} for n, t in tables.items()}, info, overwrite=False)
    merged, merged_info = merge_parts(parts, data)
    assert merged == tables and merged_info == info
    with pytest.raises(UserError, match=r"merging utt2pitch of 1 parts: 11 utterances of .* missing"):
        merge_parts(parts[:1], data)
    with pytest.raises(UserError, match=r"part.1/utt2pitch: utterance spk1_00 is also in another part"):
        merge_parts([parts[0], parts[0]], data)
    (parts[1] / INFO_FILE).unlink()
    with pytest.raises(UserError, match=r"part.2: no attributes_info.json; the labelling job of this part did not"):
        merge_parts(parts, data)
