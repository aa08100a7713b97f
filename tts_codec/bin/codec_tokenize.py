"""Recipe stage 6: tokenize every utterance of a data dir with a trained codec into a codes dir.

Writes one `<stream>.ark/scp` per token stream of the codec (BiCodec: `semantic`, `global`), `codes_info.json`
(see `tts_codec.data.token_file`) and `failed` (`utt reason`) for utterances that cannot be tokenized (too short,
unreadable); those do not stop the job, which exits non-zero only when every utterance failed. A complete out_dir of the same model is skipped; one of another
model is refused unless `--overwrite true`. run.sh runs one call per split (`--data_dir .../splitN/JOB
--out_dir .../part.JOB`) and then `merge_scp`.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import new_parser, run_main, str2bool
from tts_codec.codecs.inference import add_inference_args, apply_inference_args, load_codec
from tts_codec.codecs.runner import is_complete, tokenize_dir
from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError

log = logging.getLogger("codec_tokenize")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    add_inference_args(parser)
    parser.add_argument("--data_dir", required=True, help="Kaldi data dir (dump/raw/<set> or a split of it)")
    parser.add_argument("--out_dir", required=True, help="codes dir (dump/codes/<tag>/<set>[/part.JOB])")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace an existing codes dir")
    args = parser.parse_args(argv)
    apply_inference_args(args)
    data = DataDir.load(args.data_dir)
    if not len(data):
        raise UserError(f"data dir {args.data_dir} has no utterances")
    out_dir = Path(args.out_dir)
    model = load_codec(args.model_dir, args.device)
    info = model.codes_info(args.model_dir)
    if is_complete(out_dir, info, data.utt_ids, args.overwrite):
        log.info("%s is complete (%d utterances); skipping", out_dir, len(data))
        return 0
    done, failed = tokenize_dir(model, data, out_dir, info, args.batch_size, args.device)
    log.info("tokenized %d utterances into %s, %d failed%s", done, out_dir, failed,
             f" (see {out_dir / 'failed'})" if failed else "")
    if done == 0:
        log.error("every utterance of %s failed; see %s", args.data_dir, out_dir / "failed")
        return 1
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
