"""The model card of a packed model dir (`model_card.md`): what the model is, how it was trained (command, commit,
data), the stage-11 scores, and how to run it; with the YAML front matter a model hub reads."""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tts_codec.errors import UserError


@dataclass
class Provenance:
    """How a model was made: the training command, the data, and the stage-11 result files (RESULTS.md)."""

    command: str = ""
    data: str = ""
    scores: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.scores = [Path(p) for p in self.scores]
        for path in self.scores:
            if not path.is_file():
                raise UserError(f"--scores {path}: no such file (give stage 11's exp/eval/<set>/RESULTS.md)")


def source_commit() -> str:
    """The git commit of this tts_codec checkout (`+dirty` with uncommitted changes), or "unknown"."""
    repo = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def scores_section(paths: list[Path]) -> str:
    """Each RESULTS.md under its own heading, its headings moved two levels down."""
    if not paths:
        return "No scores were given when this directory was packed (`--scores`).\n"
    parts = []
    for path in paths:
        text = re.sub(r"^(#+)", r"\1##", path.read_text(encoding="utf-8").strip(), flags=re.MULTILINE)
        parts.append(f"### {path.parent.name} ({path.name})\n\n{text}\n")
    return "\n".join(parts)


def render_card(name: str, family: str, layout: str, summary: dict[str, Any], provenance: Provenance,
                info: dict[str, Any]) -> str:
    """The card's Markdown; `summary` lists the model's facts (sample rate, codebook, parameters ...)."""
    facts = "\n".join(f"| {key} | {value} |" for key, value in summary.items())
    command = provenance.command or "(not recorded: pack with --train_command)"
    data = provenance.data or "(not recorded: pack with --data)"
    return f"""---
library_name: tts_codec
pipeline_tag: text-to-speech
tags: [text-to-speech, {family}, codec-language-model]
---
# {name}

A {family} text-to-speech model packed by tts_codec {info['tts_codec_version']} (`{layout}` layout), format
`{info['format']}` version {info['version']}; every file with its size and sha256 is listed in `model_dir.json`.

| fact | value |
|---|---|
{facts}

## Use

{usage(name, family)}
## Training

- **Command:** `{command}`
- **tts_codec commit:** `{info['commit']}`
- **Data:** {data}
- **Packed:** {info['packed']}

## Scores (recipe stage 11)

{scores_section(provenance.scores)}"""


def usage(name: str, family: str) -> str:
    """The card's commands: voice creation and clone for spark; clone (shallow, or deep with the transcript) for
    mars6, which has no voice creation."""
    say = f'python -m tts_codec.bin.synthesize --model_dir {name} --text "Hello there."'
    if family == "mars6":
        lines = [f"{say} --prompt_wav ref.wav --seed 0 --out x.wav",
                 f'{say} --prompt_wav ref.wav --prompt_text "what ref.wav says" --seed 0 --out y.wav']
        api = "(`.clone(text, prompt_wav, prompt_text)`; no voice creation)"
    else:
        lines = [f"{say} --gender female --seed 0 --out x.wav", f"{say} --prompt_wav ref.wav --seed 0 --out y.wav"]
        api = "(`.create`, `.clone`, `.speak`)"
    lines.append(f"python -m tts_codec.bin.web_demo --model_dir {name}")
    commands = "\n".join(lines)
    return (f"```\n{commands}\n```\nIn Python: `tts_codec.tts.model_dir.load_model_dir(\"{name}\")` returns the "
            f"pipeline {api}.\n")


def default_name(out_dir: str | os.PathLike) -> str:
    return Path(out_dir).resolve().name
