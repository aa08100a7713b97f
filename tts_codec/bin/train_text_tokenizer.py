"""Recipe stage 4: the LM's text tokenizer in `--output_dir` (a transformers tokenizer directory).

Either trains a sentencepiece BPE on the `text` files of the training data dirs (after the `--g2p` front end, which is
saved beside it) and adds the Spark-TTS tokens, or,
with `--pretrained_dir`, registers the tokenizer of an official Spark-TTS `LLM/` directory unchanged. A rerun with
the same inputs finds `tokenizer_info.json` up to date and does nothing; other inputs need `--overwrite true`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.atomic import atomic_write
from tts_codec.cli import new_parser, number_type, run_main, str2bool
from tts_codec.data.table import read_table
from tts_codec.errors import UserError
from tts_codec.lm.text_frontend import G2P_CHOICES, TextFrontend

log = logging.getLogger("train_text_tokenizer")
INFO = "tokenizer_info.json"


def read_texts(paths: Sequence[str]) -> list[str]:
    """The transcripts of Kaldi `text` files (or data dirs holding one), in file order."""
    texts: list[str] = []
    for name in paths:
        path = Path(name) / "text" if Path(name).is_dir() else Path(name)
        if not path.is_file():
            raise UserError(f"--text {name}: no such text file (nor a data dir with one)")
        texts.extend(read_table(path, allow_empty_value=True).values())
    return texts


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--text", nargs="+", default=[], help="Kaldi text files or data dirs (e.g. dump/raw/train)")
    parser.add_argument("--vocab_size", type=number_type(int, low=260), default=1000,
                        help="BPE vocabulary (> 256 byte pieces + the corpus characters)")
    parser.add_argument("--pretrained_dir", default=None,
                        help="an official Spark-TTS LLM/ dir: use its tokenizer unchanged instead of training")
    parser.add_argument("--output_dir", required=True, help="tokenizer dir, e.g. data/token_list/spark_bpe1000")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace a tokenizer made from other inputs")
    parser.add_argument("--model_family", default="spark", choices=("spark", "mars6"),
                        help="spark: BPE + the Spark tokens; mars6: a BPE of --vocab_size ids with the MARS6 specials")
    parser.add_argument("--g2p", default="none", choices=G2P_CHOICES,
                        help="text front end before the BPE: none (the text) or espeak_ipa (eSpeak NG IPA phonemes); "
                             "saved in the tokenizer dir, so training and synthesis apply the same")
    parser.add_argument("--g2p_language", default="en-us", help="eSpeak voice of --g2p espeak_ipa")
    args = parser.parse_args(argv)

    from tts_codec.lm.spark.tokenizer import copy_pretrained_tokenizer, train_spark_tokenizer

    out = Path(args.output_dir)
    if args.pretrained_dir and args.model_family != "spark":
        raise UserError("--pretrained_dir registers an official Spark-TTS tokenizer; not with --model_family mars6")
    if args.pretrained_dir and args.g2p != "none":
        raise UserError("--g2p: an official tokenizer reads plain text; train one (--text) for a phoneme front end")
    frontend = TextFrontend(g2p=args.g2p, language=args.g2p_language)
    if args.pretrained_dir:
        info = {"source": "pretrained", "pretrained_dir": str(Path(args.pretrained_dir).resolve())}
    else:
        if not args.text:
            raise UserError("give --text (training transcripts) or --pretrained_dir (an official LLM/ dir)")
        texts = read_texts(args.text)
        digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
        info = {"source": "sentencepiece_bpe", "vocab_size": args.vocab_size, "text_sha256": digest}
        if args.model_family != "spark":
            info["model_family"] = args.model_family
        if frontend.g2p != "none":
            info["text_frontend"] = frontend.to_dict()
            frontend(texts[0] if texts else "")  # an engine that is missing fails here, before anything is replaced
    if (out / INFO).is_file() and json.loads((out / INFO).read_text(encoding="utf-8")) == info:
        log.info("%s is up to date", out)
        return 0
    overwrite = args.overwrite or (out.is_dir() and not any(out.iterdir()))
    if args.pretrained_dir:
        tokenizer = copy_pretrained_tokenizer(args.pretrained_dir, out, overwrite=overwrite)
    elif args.model_family == "mars6":
        from tts_codec.lm.mars6.text import train_mars6_tokenizer

        tokenizer = train_mars6_tokenizer(texts, args.vocab_size, out, overwrite=overwrite, inputs=args.text,
                                          frontend=frontend)
    else:
        tokenizer = train_spark_tokenizer(texts, args.vocab_size, out, overwrite=overwrite, inputs=args.text,
                                          frontend=frontend)
    with atomic_write(out / INFO) as handle:
        json.dump(info, handle, indent=2)
    log.info("wrote %s: %d tokens", out, len(tokenizer))
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
