"""Packing the mars6 family (stage 12): a SNAC codec dir (ours or the official layout) + a MARS6 dir -> one packed
model dir in our layout: `codec/` (SNAC, safetensors), `lm/` (config.yaml, model.safetensors, the text tokenizer)
and, when the speaker extractor is a local WavLM-SV copy, `speaker/` (so the dir needs nothing of the training
machine; the default extractor, resemblyzer, ships its weights in its pip wheel and needs no files).

Same steps as the spark family (`tts_codec.tts.packing.write_packed_dir`): inputs loaded and checked first, the dir
built aside, cast to `weights_dtype`, loaded back, then renamed into place. `weights_dtype` int8 stores the LM's
large matrices (output head, token embeddings, transformer projections) as int8 rows with a scale each, and every
other weight (the codec's included) in float16.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tts_codec.errors import UserError
from tts_codec.lm.mars6.model_dir import WEIGHTS
from tts_codec.tts.model_card import Provenance
from tts_codec.tts.packing import PackedDir, check_inputs, write_packed_dir

SPEAKER_DIR = "speaker"


def pack_mars6(codec_dir: str | os.PathLike, lm_dir: str | os.PathLike, out_dir: str | os.PathLike,
               provenance: Provenance | None = None, overwrite: bool = False,
               weights_dtype: str = "float32") -> dict[str, Any]:
    """Pack a SNAC dir and a MARS6 dir (stage 8's exp/lm_<tag>/model) into `out_dir`; returns the manifest."""
    from tts_codec.codecs import codec_class_for_dir
    from tts_codec.lm.mars6.examples import level_streams
    from tts_codec.lm.mars6.model_dir import load_model_dir as load_mars6_dir
    from tts_codec.lm.mars6.speaker_embedding import DIMS, EXTRACTORS

    codec_dir, lm_dir = Path(codec_dir), Path(lm_dir)
    check_inputs(codec_dir, lm_dir, weights_dtype, out_dir, overwrite)
    codec = codec_class_for_dir(codec_dir).from_pretrained(codec_dir)
    model, _, config = load_mars6_dir(lm_dir)
    level_streams(codec.codes_info(), model.cfg, f"codec {codec_dir} with MARS6 {lm_dir}")
    speaker = dict(config.get("speaker_embedding") or {})
    extractor = str(speaker.get("extractor", "resemblyzer"))
    where = f"{lm_dir / 'config.yaml'}: speaker_embedding.extractor {extractor!r}"
    if extractor not in EXTRACTORS:
        raise UserError(f"{where} is not one of {list(EXTRACTORS)}")
    if DIMS[extractor] != model.cfg.speaker_dim:
        raise UserError(f"{where} does not give the {model.cfg.speaker_dim}-d embeddings the model was trained on "
                        f"({DIMS})")
    wavlm_dir = Path(speaker["model_dir"]) if extractor == "wavlm" and speaker.get("model_dir") else None
    if extractor == "wavlm" and wavlm_dir is None:
        raise UserError(f"{lm_dir / 'config.yaml'}: speaker_embedding.extractor wavlm without model_dir; the packed "
                        "dir must bundle the WavLM-SV the speaker embeddings came from")

    def write_parts(tmp: Path) -> dict[str, str | None]:
        from tts_codec.lm.mars6.model_dir import save_model_dir

        codec.save_pretrained(tmp / "codec")
        if wavlm_dir is not None:
            save_wavlm(wavlm_dir, tmp / SPEAKER_DIR)
            speaker["model_dir"] = None  # a path of the training machine; the loader uses parts.speaker
        save_model_dir(model, {**config, "speaker_embedding": speaker}, lm_dir, tmp / "lm")
        return {"codec": "codec", "lm": "lm", "speaker": SPEAKER_DIR if wavlm_dir is not None else None}

    summary = mars6_summary(codec, model, extractor, wavlm_dir is not None)
    packed = PackedDir("mars6", "tts_codec", int(codec.sample_rate), summary, int8_files=(f"lm/{WEIGHTS}",))
    inputs = [codec_dir, lm_dir] + ([wavlm_dir] if wavlm_dir is not None else [])
    return write_packed_dir(packed, write_parts, inputs, out_dir, provenance, overwrite, weights_dtype)


def save_wavlm(wavlm_dir: Path, out: Path) -> None:
    """Copy a local WavLM-SV dir (WavLMForXVector + its feature extractor config) as safetensors."""
    from transformers import WavLMForXVector

    try:
        model = WavLMForXVector.from_pretrained(str(wavlm_dir), local_files_only=True)
    except (OSError, ValueError) as err:
        raise UserError(f"speaker_embedding.model_dir {wavlm_dir}: cannot load a WavLM-SV from it "
                        f"({type(err).__name__}: {err})") from None
    model.save_pretrained(str(out), safe_serialization=True)
    if not (wavlm_dir / "preprocessor_config.json").is_file():
        raise UserError(f"speaker_embedding.model_dir {wavlm_dir}: no preprocessor_config.json (the feature "
                        "extractor's settings)")
    shutil.copy2(wavlm_dir / "preprocessor_config.json", out / "preprocessor_config.json")


def mars6_summary(codec: Any, model: Any, extractor: str, bundled: bool) -> dict[str, Any]:
    """The facts the card's table shows."""
    from tts_codec.lm.mars6.model import count_parameters

    cfg, streams = model.cfg, codec.token_streams
    levels = ", ".join(f"{name} (stride {info.stride}, {info.codebook_size} codes)" for name, info in streams.items())
    return {
        "codec": f"{codec.name}, {int(codec.sample_rate)} Hz, {count_parameters(codec) / 1e6:.2f} M parameters",
        "codec levels": levels,
        "LM": f"MARS6, width {cfg.dim}, {cfg.encoder_layers} encoder / {cfg.global_layers} global / "
              f"{cfg.local_layers} local layers, text vocabulary {cfg.text_vocab}, "
              f"{count_parameters(model) / 1e6:.2f} M parameters",
        "speaker embeddings": f"{extractor}, {cfg.speaker_dim}-d" + (" (bundled)" if bundled else ""),
        "modes": "voice clone (shallow; deep with the reference transcript); no voice creation",
    }
