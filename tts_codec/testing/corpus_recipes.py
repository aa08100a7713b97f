"""Test helpers for the corpus recipes (egs/{ears,librispeech,voxbox}): a small synthetic corpus in the corpus'
real on-disk layout, and a recipe run pointed at it through its db.sh variable."""
from __future__ import annotations

import subprocess
from pathlib import Path

from tts_codec.data.synth.corpus import CorpusConfig
from tts_codec.data.synth.layouts import write_layout
from tts_codec.testing.recipes import copy_recipe, recipe_env

#: 4 speakers (p001-p004 / readers 101-104), 3 utterances each: small enough for a few seconds of eSpeak NG
FIXTURE = CorpusConfig(num_speakers=4, utts_per_speaker=3, dev_utts_per_speaker=1, seed=1)
#: the db.sh variable of each recipe
ROOT_VARIABLE = {"ears": "EARS", "librispeech": "LIBRISPEECH", "voxbox": "VOXBOX"}


def make_fixture_corpus(layout: str, dest: Path, cfg: CorpusConfig = FIXTURE) -> Path:
    """The synthetic corpus in `layout` under dest; returns the root a recipe's db.sh variable names
    (for LibriSpeech the directory that holds LibriSpeech/)."""
    root = write_layout(layout, dest / layout, cfg)
    return root.parent if layout == "librispeech" else root


def run_corpus_recipe(name: str, corpus_root: Path, work: Path, *args: str,
                      timeout: int = 900) -> tuple[Path, subprocess.CompletedProcess]:
    """Copy egs/<name>/tts1 under `work` and run ./run.sh ARGS with its corpus root set to `corpus_root`."""
    recipe = copy_recipe(name, work)
    env = {**recipe_env(), ROOT_VARIABLE[name]: str(corpus_root)}
    proc = subprocess.run(["./run.sh", *args], cwd=recipe, env=env, capture_output=True, text=True,
                          timeout=timeout)
    print(proc.stdout[-5000:], proc.stderr[-8000:], sep="\n")
    return recipe, proc
