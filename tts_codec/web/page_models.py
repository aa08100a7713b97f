"""The models one web page offers: one or several model dirs (or a recipe's codec + LM pair), each named by its
directory. Every dir is checked (present, a model dir, a name no other dir has) before any model loads, so a
mistake in the last one does not cost the loading of the others."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from tts_codec.errors import UserError
from tts_codec.tts.model_dir import MANIFEST, load_model_dir, model_family
from tts_codec.tts.synthesis_request import load_tts


def check_model_dirs(model_dirs: Sequence[str]) -> dict[str, Path]:
    """{name: dir} of the given model dirs, without loading any; the name is the directory's own (resolved)."""
    named: dict[str, Path] = {}
    for given in model_dirs:
        root = Path(given)
        if not root.is_dir():
            raise UserError(f"--model_dir {given}: no such directory")
        if not model_family(model_dir=root):
            raise UserError(f"--model_dir {given}: no {MANIFEST} (a dir packed by tts_codec.bin.pack_model) and "
                            "not an official Spark-TTS directory (BiCodec/ + LLM/)")
        name = root.resolve().name
        if name in named:
            raise UserError(f"--model_dir {given}: the page names each model by its directory and {named[name]} "
                            f"is already called {name!r}; give each model once, under a name of its own")
        named[name] = root
    return named


def load_page_models(model_dirs: Sequence[str] | None, codec_dir: str | None = None, lm_dir: str | None = None,
                     **options: Any) -> dict[str, Any]:
    """{name: TTS object} of the model dirs, or of the `codec_dir` + `lm_dir` pair (one model, named after the LM
    dir); `options` go to every loader (device, lm_dtype)."""
    model_dirs = list(model_dirs or [])
    if codec_dir or lm_dir or not model_dirs:
        if len(model_dirs) > 1:
            raise UserError("--codec_dir/--lm_dir give one model: give them without --model_dir, or give packed "
                            "model dirs only")
        tts = load_tts(model_dirs[0] if model_dirs else None, codec_dir, lm_dir, **options)
        return {Path(model_dirs[0] if model_dirs else lm_dir).resolve().name: tts}
    return {name: load_model_dir(root, **options) for name, root in check_model_dirs(model_dirs).items()}
