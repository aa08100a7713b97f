"""A packed model directory: one self-contained, versioned folder (codec + LM with its tokenizer + model card +
`model_dir.json`) that `load_model_dir` turns into the family's TTS object, and that uploads to a model hub as is.

`model_dir.json` names the format version, the model `family` (the key of `FAMILY_LOADERS`), the `layout` (ours:
`codec/`, `lm/`, optional `ssl/`; or the official Spark-TTS one: `BiCodec/`, `LLM/`, `wav2vec2-large-xlsr-53/`)
and every file with its size and sha256, so a truncated copy is refused by name. An official Spark-TTS directory
without `model_dir.json` loads too. A new family plugs in with one line in `FAMILY_LOADERS`.

Families: `spark` (BiCodec + Qwen2 LM: `SparkTTS`, clone and voice creation) and `mars6` (SNAC + MARS6: `Mars6TTS`,
clone only; `codec/`, `lm/` and, when its speaker extractor is a local WavLM, `speaker/`).
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from tts_codec.atomic import atomic_write
from tts_codec.errors import UserError

FORMAT, VERSION = "tts_codec.model_dir", 1
MANIFEST, CARD = "model_dir.json", "model_card.md"
LAYOUTS = ("tts_codec", "official")
#: family -> "module:function" building its TTS object from (root, manifest, **options); imported on use.
FAMILY_LOADERS: dict[str, str] = {
    "spark": "tts_codec.tts.model_dir:load_spark",
    "mars6": "tts_codec.tts.model_dir:load_mars6",
}


def file_table(root: Path) -> dict[str, dict[str, Any]]:
    """{relative path: {"bytes", "sha256"}} of every file under `root` except the manifest itself."""
    table = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        table[path.relative_to(root).as_posix()] = {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}
    return table


def write_manifest(root: Path, family: str, layout: str, parts: dict[str, str | None],
                   info: dict[str, Any]) -> dict[str, Any]:
    """Write `root/model_dir.json` over the files already in `root` (call it last); returns the manifest.

    Args:
        parts: relative paths of the pieces, e.g. {"codec": "codec", "lm": "lm", "ssl": None}.
        info: provenance kept beside them (tts_codec version, commit, sample rate, ...).
    """
    if family not in FAMILY_LOADERS or layout not in LAYOUTS:
        raise UserError(f"model dir: family {family!r} / layout {layout!r}; known: {sorted(FAMILY_LOADERS)} / "
                        f"{list(LAYOUTS)}")
    manifest = {"format": FORMAT, "version": VERSION, "family": family, "layout": layout, "parts": parts,
                **info, "files": file_table(root)}
    with atomic_write(root / MANIFEST) as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        handle.write("\n")
    return manifest


def read_manifest(root: Path) -> dict[str, Any]:
    """The checked manifest of a model dir: format, version, known family and layout, every file present whole."""
    path = root / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not a readable model_dir.json ({type(err).__name__}: {err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(f"{path}: not a {FORMAT} manifest (no \"format\": \"{FORMAT}\")")
    if manifest.get("version") != VERSION:
        raise UserError(f"{path}: version {manifest.get('version')!r}; this toolkit reads version {VERSION}")
    if manifest.get("family") not in FAMILY_LOADERS:
        raise UserError(f"{path}: family {manifest.get('family')!r} is not known to this toolkit "
                        f"({sorted(FAMILY_LOADERS)})")
    if manifest.get("layout") not in LAYOUTS:
        raise UserError(f"{path}: layout {manifest.get('layout')!r}; known: {list(LAYOUTS)}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not isinstance(manifest.get("parts"), dict):
        raise UserError(f"{path}: \"files\" and \"parts\" must be JSON objects")
    for name, entry in files.items():
        file = root / name
        if not file.is_file():
            raise UserError(f"{root}: {name} is missing (listed in {MANIFEST}); copy the whole directory again")
        if file.stat().st_size != entry.get("bytes"):
            raise UserError(f"{file}: {file.stat().st_size} bytes, {MANIFEST} says {entry.get('bytes')}; the "
                            "file is truncated or was changed: copy the directory again")
    return manifest


def is_official_spark_root(path: Path) -> bool:
    """An official Spark-TTS model root: `BiCodec/` (official config) and `LLM/config.json`."""
    from tts_codec.codecs.bicodec.official import is_official_dir

    return (path / "BiCodec").is_dir() and is_official_dir(path) and (path / "LLM" / "config.json").is_file()


def load_model_dir(path: str | os.PathLike, **options: Any) -> Any:
    """The TTS object of a packed model dir (its family's class, e.g. `SparkTTS`) or of an official Spark-TTS dir.

    Args:
        options: passed to the family's loader (for Spark: device, lm_dtype, max_chars, fast_decode, ...).
    """
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"model dir {root}: no such directory")
    if (root / MANIFEST).is_file():
        manifest = read_manifest(root)
        return family_loader(manifest["family"])(root, manifest, **options)
    if is_official_spark_root(root):
        from tts_codec.tts.spark import SparkTTS

        return SparkTTS.from_official_dir(root, **options)
    raise UserError(f"model dir {root}: no {MANIFEST} (a dir packed by tts_codec.bin.pack_model) and not an "
                    "official Spark-TTS directory (BiCodec/ + LLM/)")


def model_family(model_dir: str | os.PathLike | None = None, lm_dir: str | os.PathLike | None = None) -> str:
    """The family of a model, read from its files without loading it: a packed dir's manifest (an official
    Spark-TTS dir is "spark"), or the kind of LM dir (`lm_dir_family`); "" when the dir is not one of these (the
    loader then says why)."""
    if model_dir is not None:
        root = Path(model_dir)
        if (root / MANIFEST).is_file():
            return read_manifest(root)["family"]
        return "spark" if root.is_dir() and is_official_spark_root(root) else ""
    return lm_dir_family(Path(lm_dir)) if lm_dir is not None and Path(lm_dir).is_dir() else ""


def lm_dir_family(lm_dir: Path) -> str:
    """"spark" for an LLM dir (`config.json`, stage 8 of the spark family), "mars6" for a MARS6 dir (`config.yaml`
    and `model.safetensors`); anything else is refused by name."""
    if (lm_dir / "config.json").is_file():
        return "spark"
    if (lm_dir / "config.yaml").is_file() and (lm_dir / "model.safetensors").is_file():
        return "mars6"
    raise UserError(f"{lm_dir}: no config.json (a Spark LLM dir) nor config.yaml + model.safetensors (a MARS6 "
                    "dir); give the model dir stage 8 wrote (exp/lm_<tag>/model)")


def family_loader(family: str) -> Callable[..., Any]:
    module, _, name = FAMILY_LOADERS[family].partition(":")
    return getattr(importlib.import_module(module), name)


def load_spark(root: Path, manifest: dict[str, Any], **options: Any) -> Any:
    """SparkTTS of a packed dir; a bundled wav2vec2 (`parts.ssl`) replaces the codec config's SSL path."""
    from tts_codec.codecs.bicodec.ssl import SSLFeatureExtractor
    from tts_codec.tts.spark import SparkTTS

    if manifest["layout"] == "official":
        return SparkTTS.from_official_dir(root, **options)
    parts = manifest["parts"]
    tts = SparkTTS.from_dirs(root / parts["codec"], root / parts["lm"], **options)
    if parts.get("ssl"):
        config = json.loads(json.dumps(tts.codec.config))  # a deep copy: the codec's own config stays as trained
        config["ssl_conf"]["model_dir"] = str(root / parts["ssl"])
        tts.codec.set_ssl_extractor(SSLFeatureExtractor.from_config(config))
    return tts


def load_mars6(root: Path, manifest: dict[str, Any], device: str = "cpu", options: Any = None,
               lm_dtype: str = "float32") -> Any:
    """Mars6TTS of a packed dir; a bundled speaker extractor (`parts.speaker`, a WavLM-SV copy) replaces the one the
    LM config names.

    Args:
        options: `tts_codec.tts.mars6.Mars6Options` (None: the official inference defaults).
        lm_dtype: MARS6 runs in float32 only (the option exists for the CLI's sake and refuses anything else).
    """
    from tts_codec.tts.mars6 import Mars6TTS

    if lm_dtype != "float32":
        raise UserError(f"--lm_dtype {lm_dtype}: the mars6 family runs in float32 only")
    parts = manifest["parts"]
    speaker = str(root / parts["speaker"]) if parts.get("speaker") else None
    return Mars6TTS.from_dirs(root / parts["codec"], root / parts["lm"], device, speaker, options)
