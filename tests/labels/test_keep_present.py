"""extract_attributes --keep_present: a corpus' own pitch/speed labels (VoxBox metadata) survive stage 3, and only
the missing or unknown ones are filled in with measurements."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from tts_codec.bin.extract_attributes import main
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table, write_table
from tts_codec.labels.extract import INFO_FILE, LabelSettings, label_data_dir, write_labels


def _labelled_parts(data: DataDir, tables: dict, root: Path) -> list[str]:
    info = LabelSettings.create().info()
    halves = [data.utt_ids[: len(data) // 2], data.utt_ids[len(data) // 2:]]
    parts = []
    for i, utts in enumerate(halves, 1):
        parts.append(str(root / f"part.{i}"))
        write_labels(parts[-1], {n: {u: t[u] for u in utts} for n, t in tables.items()}, info, overwrite=False)
    return parts


def test_merge_keeps_known_corpus_labels_and_fills_in_the_rest(prosody_dir: Path, tmp_path: Path) -> None:
    data = DataDir.load(prosody_dir)
    measured = label_data_dir(data, LabelSettings.create())
    parts = _labelled_parts(data, measured, tmp_path)
    corpus = Path(shutil.copytree(prosody_dir, tmp_path / "corpus"))
    first, second, third = data.utt_ids[:3]
    # The corpus knows the first utterance's labels, calls the second unknown and has nothing for the others.
    other = "very_low" if measured["utt2pitch"][first] != "very_low" else "very_high"
    write_table(corpus / "utt2pitch", {first: other, second: "unknown"})
    write_table(corpus / "utt2speed_value", {first: "9", second: "unknown"})

    assert main(["--data_dir", str(corpus), "--merge", *parts, "--keep_present", "true", "--overwrite", "true"]) == 0
    pitch, speed_value = read_table(corpus / "utt2pitch"), read_table(corpus / "utt2speed_value")
    assert pitch[first] == other and speed_value[first] == "9"  # kept
    assert pitch[second] == measured["utt2pitch"][second] and pitch[third] == measured["utt2pitch"][third]  # filled
    assert speed_value[second] == measured["utt2speed_value"][second]
    assert sorted(pitch) == data.utt_ids
    assert json.loads((corpus / INFO_FILE).read_text())["keep_present"] is True

    # Without it, the measurements replace the corpus labels.
    assert main(["--data_dir", str(corpus), "--merge", *parts, "--overwrite", "true"]) == 0
    assert read_table(corpus / "utt2pitch") == measured["utt2pitch"]
    assert "keep_present" not in json.loads((corpus / INFO_FILE).read_text())
