"""Recipe stage 12: pack a trained codec dir and LM dir into one self-contained, versioned model dir
(tts_codec.tts.packing) that the synthesis CLI, the web demo and `load_model_dir` open by path, and that uploads to
a model hub as is: codec/ + lm/ (with its tokenizer) + model_card.md (training command, commit, data, stage-11
scores) + model_dir.json (format version, family, every file's size and sha256).

Both families: spark (BiCodec + a Spark LLM dir with config.json) and mars6 (SNAC + a MARS6 dir with config.yaml;
a local WavLM-SV speaker extractor is bundled as speaker/); --model_family auto tells them apart by the LM dir.

  python -m tts_codec.bin.pack_model --codec_dir exp/codec_<tag>/model --lm_dir exp/lm_<tag>/model \
      --out_dir exp/packed/<tag> --scores exp/eval/test/RESULTS.md [--official_layout true]

--official_layout true writes the official Spark-TTS layout (BiCodec/, LLM/, wav2vec2-large-xlsr-53/) instead.
The dir is built aside and renamed into place; an existing one is replaced only with --overwrite true.
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import add_overwrite, new_parser, run_main, str2bool
from tts_codec.tts.model_card import Provenance
from tts_codec.tts.packing import pack_model


def get_parser():
    p = new_parser(__doc__)
    p.add_argument("--codec_dir", required=True, help="codec model dir (exp/codec_<tag>/model or official BiCodec)")
    p.add_argument("--lm_dir", required=True, help="LM dir (exp/lm_<tag>/model or an official LLM/)")
    p.add_argument("--out_dir", required=True, help="the packed model dir to write, e.g. exp/packed/<tag>")
    p.add_argument("--scores", nargs="*", default=[], help="stage-11 result files (exp/eval/<set>/RESULTS.md) for "
                   "the model card")
    p.add_argument("--train_command", default="", help="the command that trained the model (for the card)")
    p.add_argument("--data", default="", help="what the model was trained on (for the card)")
    p.add_argument("--model_family", default="auto", choices=["auto", "spark", "mars6"],
                   help="the model family (auto: from the LM dir)")
    p.add_argument("--official_layout", type=str2bool, default=False, help="write the official Spark-TTS layout "
                   "(spark only)")
    p.add_argument("--weights_dtype", default="float32", choices=["float32", "float16", "bfloat16", "int8"],
                   help="store the weights in this precision (float16/bfloat16: half the size; int8, mars6 only: the "
                   "LM's large matrices as int8 rows with a scale each, a quarter, the rest float16); they still run "
                   "in float32")
    add_overwrite(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    provenance = Provenance(args.train_command, args.data, args.scores)
    manifest = pack_model(args.codec_dir, args.lm_dir, args.out_dir, provenance, args.model_family,
                          args.official_layout, args.overwrite, args.weights_dtype)
    size = sum(entry["bytes"] for entry in manifest["files"].values())
    print(f"pack_model: {args.out_dir} ({manifest['family']}, {manifest['layout']} layout, "
          f"{len(manifest['files'])} files, {size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
