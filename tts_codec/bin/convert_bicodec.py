"""Convert BiCodec checkpoints between the official Spark-TTS layout and ours.

import: an official `BiCodec/` dir (config.yaml + model.safetensors, or the Spark-TTS-0.5B root holding it) ->
our dir (config.yaml with codec/codec_conf/ssl_conf + model.safetensors). export: ours -> the official layout.
Tensor names are checked against the committed manifest of the official state dict when the sizes are official.
Usage: python -m tts_codec.bin.convert_bicodec --mode import pretrained/Spark-TTS-0.5B exp/bicodec_official
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.atomic import replace_dir
from tts_codec.cli import add_overwrite, new_parser, run_main
from tts_codec.codecs.bicodec import official
from tts_codec.codecs.bicodec.checkpoint import canonical_state_dict, load_pretrained
from tts_codec.errors import UserError

log = logging.getLogger("convert_bicodec")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--mode", choices=["import", "export"], required=True,
                        help="import: official -> ours; export: ours -> official")
    parser.add_argument("input_dir", help="the directory to convert")
    parser.add_argument("output_dir", help="where to write the converted directory")
    add_overwrite(parser)
    args = parser.parse_args(argv)
    src, dst = Path(args.input_dir), Path(args.output_dir)
    if not src.is_dir():
        raise UserError(f"input_dir {src}: no such directory")
    is_official = official.is_official_dir(src)
    if args.mode == "import" and not is_official:
        raise UserError(f"input_dir {src}: not an official BiCodec dir (config.yaml with 'audio_tokenizer')")
    if args.mode == "export" and is_official:
        raise UserError(f"input_dir {src}: already in the official layout; use --mode import")
    model = load_pretrained(src)
    with replace_dir(dst, [src], args.overwrite, "output_dir") as new:  # never half a dir, never the input
        if args.mode == "import":
            model.save_pretrained(new)
        else:
            official.export_official(model, new)
    mismatches = official.manifest_mismatches(official.ours_to_official(canonical_state_dict(model)))
    if mismatches:
        log.info("tensors differ from the official full-size manifest (%d differences, e.g. %s): expected for "
                 "non-official sizes", len(mismatches), mismatches[0])
    else:
        log.info("tensor names and shapes match the official manifest")
    log.info("wrote %s (%s)", dst, "ours" if args.mode == "import" else "official layout")
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
