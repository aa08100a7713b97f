"""Recipe stage 3 (MARS6): speaker embeddings of every utterance of a data dir into `<output_dir>/xvector.scp`
(+ .ark, kaldiio float vectors), the conditioning MARS6 trains on.

Extractors: `resemblyzer` (256-d, weights in its pip wheel: offline; the default) or `wavlm` (512-d WavLMForXVector
from a local microsoft/wavlm-base-plus-sv copy given by `--model_dir`, the official MARS6 choice). With `--config`
(the MARS6 LM config) the extractor is the config's `speaker_embedding` section, so stage 3 embeds the way the
model is trained and run; `--model_dir` still overrides (and implies wavlm).
"""
from __future__ import annotations

import logging
import sys
from typing import Sequence

from tts_codec.cli import new_parser, run_main, str2bool

log = logging.getLogger("extract_xvectors")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--data_dir", required=True, help="Kaldi data dir with wav.scp, e.g. dump/raw/train")
    parser.add_argument("--output_dir", required=True, help="e.g. dump/xvector/train")
    parser.add_argument("--config", default=None, help="MARS6 LM config whose speaker_embedding section is used")
    parser.add_argument("--extractor", default=None, choices=("resemblyzer", "wavlm"),
                        help="default: the --config's extractor, else resemblyzer")
    parser.add_argument("--model_dir", default=None, help="wavlm: local WavLMForXVector directory")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace x-vectors of another extractor")
    args = parser.parse_args(argv)

    from tts_codec.lm.mars6.speaker_embedding import SpeakerEmbedder
    from tts_codec.lm.mars6.xvectors import extract_xvectors

    if args.config and not args.extractor:
        from tts_codec.config import load_config

        conf = load_config(args.config).get("speaker_embedding") or {}
        embedder = SpeakerEmbedder.from_config(conf, args.model_dir, args.device)
    else:
        embedder = SpeakerEmbedder(args.extractor or "resemblyzer", args.model_dir, args.device)
    count = extract_xvectors(args.data_dir, args.output_dir, embedder, overwrite=args.overwrite)
    log.info("%s: %d x-vectors written", args.output_dir, count)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
