"""Packing (recipe stage 12): a trained codec dir + LM dir -> one packed model dir (`tts_codec.tts.model_dir`),
in our layout (`codec/`, `lm/`, `ssl/`) or the official Spark-TTS one (`BiCodec/`, `LLM/`,
`wav2vec2-large-xlsr-53/`, root `config.yaml`) that the official inference code opens. The mars6 family (SNAC +
MARS6) packs in our layout through the same steps (`tts_codec.tts.packing_mars6`).

The inputs are loaded and checked before anything is written; the dir is built aside and renamed into place
(`tts_codec.atomic.replace_dir`), and it must load back before it replaces an older one. Weights are written as
safetensors only (an LM or wav2vec2 stored as `.bin` is converted); `weights_dtype` float16/bfloat16 halves their size
(the models still load and run in float32: only the stored values are rounded), e.g. for models shipped in git;
int8 (the mars6 family) stores the LM's large matrices as int8 rows with a scale each (`tts_codec.nn.int8_storage`)
and every other weight in float16.
"""
from __future__ import annotations

import datetime
import logging
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection

import torch
import yaml

import tts_codec
from tts_codec.atomic import atomic_write, refuse_input_as_output, refuse_to_clobber, replace_dir
from tts_codec.data.safetensors_file import save_safetensors
from tts_codec.errors import UserError
from tts_codec.tts.model_card import Provenance, default_name, render_card, source_commit
from tts_codec.tts.model_dir import CARD, FORMAT, VERSION, load_model_dir, write_manifest

log = logging.getLogger(__name__)
OFFICIAL_SSL_LAYERS = [11, 14, 16]  # hard-coded in the official BiCodec feature extractor
OFFICIAL_SSL_DIR = "wav2vec2-large-xlsr-53"
WEIGHTS_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
#: int8 storage: the packer's `PackedDir.int8_files` as int8 rows + scales, every other float weight in float16
INT8 = "int8"


def pack_model(codec_dir: str | os.PathLike, lm_dir: str | os.PathLike, out_dir: str | os.PathLike,
               provenance: Provenance | None = None, family: str = "auto", official_layout: bool = False,
               overwrite: bool = False, weights_dtype: str = "float32") -> dict[str, Any]:
    """Pack with the packer of `family` ("auto": the LM dir's, see `model_dir.lm_dir_family`)."""
    from tts_codec.tts.model_dir import lm_dir_family

    check_inputs(codec_dir, lm_dir, weights_dtype)
    family = lm_dir_family(Path(lm_dir)) if family == "auto" else family
    if family == "mars6":
        from tts_codec.tts.packing_mars6 import pack_mars6

        if official_layout:
            raise UserError("--official_layout true: the official layout is Spark-TTS's; a mars6 model packs in "
                            "ours (--official_layout false)")
        return pack_mars6(codec_dir, lm_dir, out_dir, provenance, overwrite, weights_dtype)
    if family != "spark":
        raise UserError(f"--model_family {family!r}: choose auto, spark or mars6")
    return pack_spark(codec_dir, lm_dir, out_dir, provenance, official_layout, overwrite, weights_dtype)


def pack_spark(codec_dir: str | os.PathLike, lm_dir: str | os.PathLike, out_dir: str | os.PathLike,
               provenance: Provenance | None = None, official_layout: bool = False,
               overwrite: bool = False, weights_dtype: str = "float32") -> dict[str, Any]:
    """Pack a BiCodec dir and a Spark LM dir into `out_dir`; returns the written manifest.

    Args:
        codec_dir: ours (stage 5's exp/codec_<tag>/model) or an official BiCodec dir.
        lm_dir: an official-layout LLM dir (stage 8's exp/lm_<tag>/model or an official LLM/).
        official_layout: write the official Spark-TTS layout (needs an exportable BiCodec with wav2vec2 SSL).
        weights_dtype: a key of WEIGHTS_DTYPES; the stored floating-point weights are cast to it.
    """
    from tts_codec.codecs import codec_class_for_dir
    from tts_codec.lm.spark.examples import check_codes
    from tts_codec.lm.spark.model import load_llm_dir

    codec_dir, lm_dir = Path(codec_dir), Path(lm_dir)
    check_inputs(codec_dir, lm_dir, weights_dtype, out_dir, overwrite)
    if weights_dtype == INT8:
        raise UserError(f"--weights_dtype {INT8!r}: int8 storage is for the mars6 family's LM; a spark model packs in "
                        f"one of {sorted(WEIGHTS_DTYPES)} (the official layout is read by transformers)")
    codec = codec_class_for_dir(codec_dir).from_pretrained(codec_dir)
    lm, vocab = load_llm_dir(lm_dir)
    check_codes(codec.codes_info(), vocab, f"codec {codec_dir} with LM {lm_dir}")
    if official_layout:
        check_official_exportable(codec)
    ssl_dir = wav2vec2_dir(codec.config)
    layout = "official" if official_layout else "tts_codec"

    def write_parts(tmp: Path) -> dict[str, str | None]:
        if official_layout:
            return write_official_layout(codec, lm, lm_dir, ssl_dir, tmp)
        return write_our_layout(codec, lm, lm_dir, ssl_dir, tmp)

    packed = PackedDir("spark", layout, int(codec.sample_rate), spark_summary(codec, lm, ssl_dir))
    return write_packed_dir(packed, write_parts, [codec_dir, lm_dir], out_dir, provenance, overwrite, weights_dtype)


def check_inputs(codec_dir: str | os.PathLike, lm_dir: str | os.PathLike, weights_dtype: str,
                 out_dir: str | os.PathLike | None = None, overwrite: bool = False) -> None:
    """The checks before any (slow) model loading: a known dtype, both dirs present, an output that is no input and
    clobbers nothing (checked again by replace_dir when writing)."""
    if weights_dtype not in (*WEIGHTS_DTYPES, INT8):
        raise UserError(f"--weights_dtype {weights_dtype!r}: choose one of {sorted([*WEIGHTS_DTYPES, INT8])}")
    for option, path in (("--codec_dir", Path(codec_dir)), ("--lm_dir", Path(lm_dir))):
        if not path.is_dir():
            raise UserError(f"{option} {path}: no such directory")
    if out_dir is not None:
        refuse_input_as_output(out_dir, [codec_dir, lm_dir], "model dir")
        refuse_to_clobber(out_dir, overwrite, "model dir")


@dataclass
class PackedDir:
    """What the manifest and the card say of a packed dir: family, layout, sample rate, the card's fact table, and
    the weight files int8 storage quantizes (relative to the dir)."""

    family: str
    layout: str
    sample_rate: int
    summary: dict[str, Any]
    int8_files: tuple[str, ...] = ()


def write_packed_dir(packed: PackedDir, write_parts: Callable[[Path], dict[str, str | None]], inputs: list[Path],
                     out_dir: str | os.PathLike, provenance: Provenance | None, overwrite: bool,
                     weights_dtype: str) -> dict[str, Any]:
    """Build the dir aside (`write_parts(tmp)` writes the models and returns the manifest's parts), cast its
    weights, add the model card and the manifest, load it back, then rename it into place; returns the manifest."""
    info = {"tts_codec_version": tts_codec.__version__, "commit": source_commit(), "format": FORMAT,
            "version": VERSION, "sample_rate": packed.sample_rate,
            "packed": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    with replace_dir(out_dir, inputs=inputs, overwrite=overwrite, what="model dir") as tmp:
        parts = write_parts(tmp)
        if weights_dtype != "float32":
            int8_files = packed.int8_files if weights_dtype == INT8 else ()
            cast_safetensors(tmp, torch.float16 if weights_dtype == INT8 else WEIGHTS_DTYPES[weights_dtype],
                             int8_files)
            compact_json(tmp, "tokenizer.json")
            info["weights_dtype"] = weights_dtype
        card = render_card(default_name(out_dir), packed.family, packed.layout, packed.summary,
                           provenance or Provenance(), info)
        with atomic_write(tmp / CARD) as handle:
            handle.write(card)
        manifest = write_manifest(tmp, packed.family, packed.layout, parts,
                                  {k: info[k] for k in info if k not in ("format", "version")})
        load_model_dir(tmp)  # the new dir must load before it replaces anything
    log.info("packed %s -> %s (%s, %s layout, %d files)", " + ".join(map(str, inputs)), out_dir, packed.family,
             packed.layout, len(manifest["files"]))
    return manifest


def cast_safetensors(root: Path, dtype: torch.dtype, int8_files: Collection[str] = ()) -> None:
    """Rewrite every `*.safetensors` under `root` with its floating-point tensors stored as `dtype`; the files of
    `int8_files` (paths relative to `root`) first get their large matrices as int8 rows + scales
    (`int8_storage.quantize_state`), in the same pass."""
    from safetensors import safe_open

    from tts_codec.nn.int8_storage import quantize_state

    for path in sorted(root.rglob("*.safetensors")):
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata()
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        if path.relative_to(root).as_posix() in int8_files:
            tensors = quantize_state(tensors)
        tensors = {key: t.to(dtype) if t.is_floating_point() else t for key, t in tensors.items()}
        save_safetensors(tensors, path, metadata=metadata)


def compact_json(root: Path, name: str) -> None:
    """Rewrite every `name` under `root` without indentation (the same JSON; a tokenizer.json holding the Spark
    vocabulary's 13k added tokens shrinks by a third)."""
    import json

    for path in sorted(root.rglob(name)):
        data = json.loads(path.read_text(encoding="utf-8"))
        with atomic_write(path) as handle:
            json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))


def wav2vec2_dir(config: dict[str, Any]) -> Path | None:
    """The local wav2vec2 dir a codec config reads its SSL features from (None: log-mel or a random test SSL)."""
    ssl = config.get("ssl_conf") or {}
    if ssl.get("type") != "wav2vec2" or not ssl.get("model_dir"):
        return None
    path = Path(ssl["model_dir"])
    if not (path / "config.json").is_file():
        raise UserError(f"codec config: ssl_conf.model_dir {path} has no config.json; the packed dir must bundle "
                        "the wav2vec2 the codec was trained with")
    return path


def check_official_exportable(codec: Any) -> None:
    """The official layout holds a BiCodec whose SSL is wav2vec2 hidden states 11, 14, 16 (the official code
    hard-codes them); anything else would load there but tokenize wrongly."""
    ssl = codec.config.get("ssl_conf") or {}
    if codec.name != "bicodec":
        raise UserError(f"--official_layout true: codec {codec.name!r}; the official Spark-TTS layout holds a BiCodec")
    if ssl.get("type") != "wav2vec2" or list(ssl.get("layers") or []) != OFFICIAL_SSL_LAYERS:
        raise UserError(f"--official_layout true: the codec's SSL is {ssl.get('type')!r} layers "
                        f"{ssl.get('layers')}; the official code reads wav2vec2 hidden states {OFFICIAL_SSL_LAYERS}, "
                        "so this codec can only be packed in our layout (--official_layout false)")


def write_our_layout(codec: Any, lm: torch.nn.Module, lm_dir: Path, ssl_dir: Path | None, root: Path
                     ) -> dict[str, str | None]:
    from tts_codec.lm.spark.model import export_llm_dir

    codec.save_pretrained(root / "codec")
    export_llm_dir(lm, lm_dir, root / "lm")
    if ssl_dir is not None:
        save_wav2vec2(ssl_dir, root / "ssl")
    return {"codec": "codec", "lm": "lm", "ssl": "ssl" if ssl_dir is not None else None}


def write_official_layout(codec: Any, lm: torch.nn.Module, lm_dir: Path, ssl_dir: Path | None, root: Path
                          ) -> dict[str, str | None]:
    from tts_codec.codecs.bicodec.official import export_official, ours_config_to_official
    from tts_codec.lm.spark.model import export_llm_dir

    top = {k: v for k, v in ours_config_to_official(codec.config).items() if k != "audio_tokenizer"}
    with atomic_write(root / "config.yaml") as handle:
        yaml.safe_dump(top, handle, sort_keys=False)
    export_official(codec, root / "BiCodec")
    export_llm_dir(lm, lm_dir, root / "LLM")
    if ssl_dir is None:
        log.warning("the codec names no wav2vec2 dir: %s/ is not written, so this dir can create voices but not "
                    "clone them", OFFICIAL_SSL_DIR)
    else:
        save_wav2vec2(ssl_dir, root / OFFICIAL_SSL_DIR)
    return {"codec": "BiCodec", "lm": "LLM", "ssl": OFFICIAL_SSL_DIR if ssl_dir is not None else None}


def save_wav2vec2(ssl_dir: Path, out: Path) -> None:
    """Copy a local wav2vec2 dir as safetensors (config, weights, preprocessor config)."""
    from transformers import Wav2Vec2Model

    try:
        model = Wav2Vec2Model.from_pretrained(str(ssl_dir), local_files_only=True)
    except (OSError, ValueError) as err:
        raise UserError(f"wav2vec2 dir {ssl_dir}: cannot load it ({type(err).__name__}: {err})") from None
    model.save_pretrained(str(out), safe_serialization=True)
    if (ssl_dir / "preprocessor_config.json").is_file():
        shutil.copy2(ssl_dir / "preprocessor_config.json", out / "preprocessor_config.json")


def spark_summary(codec: Any, lm: torch.nn.Module, ssl_dir: Path | None) -> dict[str, Any]:
    """The facts the card's table shows."""
    from tts_codec.lm.spark.model import count_parameters

    streams, conf = codec.token_streams, lm.config
    ssl = codec.config.get("ssl_conf") or {}
    return {
        "codec": f"{codec.name}, {int(codec.sample_rate)} Hz, {codec.frame_rate:g} semantic tokens/s, "
                 f"{count_parameters(codec) / 1e6:.2f} M parameters",
        "semantic codebook": streams["semantic"].codebook_size,
        "global (speaker) tokens": f"{math.prod(streams['global'].shape)} over "
                                   f"{streams['global'].codebook_size} codes",
        "SSL features": f"{ssl.get('type')}" + (" (bundled)" if ssl_dir is not None else ""),
        "LM": f"Qwen2, {conf.num_hidden_layers} layers, hidden {conf.hidden_size}, vocabulary {conf.vocab_size}, "
              f"{count_parameters(lm) / 1e6:.2f} M parameters",
    }
