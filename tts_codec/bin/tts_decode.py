"""Recipe stage 10: text to speech over a test list with a Spark-TTS LM and its codec (tts_codec.tts.decode_list).

  clone:  --meta_lst data/test_clone/meta.lst   zero-shot cloning of each prompt wav (prompt A; B with
          --use_prompt_text true)
  create: --data_dir dump/raw/test             voice creation from each utterance's stage-3 gender/pitch/speed
          labels (prompt C; with --fine_values true also its pitch/speed values, mode D)
  voice:  --data_dir DIR --voice v.json        every text with one saved voice

Writes <out_dir>/wav/<utt>.wav and, when all --nj parts are done, wav/wav.scp, timing and failed. Reruns skip
finished utterances. Sampling defaults are the official ones (temperature 0.8, top_k 50, top_p 0.95, 3000 tokens).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

import torch

from tts_codec.cli import add_overwrite, new_parser, non_negative_int, positive_float, positive_int, probability, \
    run_main, str2bool
from tts_codec.errors import UserError
from tts_codec.lm.spark.fast_decode import FastDecodeConfig
from tts_codec.tts.decode_list import TASKS, DecodeJob, decode_part, list_utterances, model_fingerprint
from tts_codec.tts.spark import LM_DTYPES, SparkTTS
from tts_codec.tts.synthesis_request import add_sampling_options, sampling_from_args
from tts_codec.tts.voice import load_voice

log = logging.getLogger("tts_decode")


def get_parser():
    p = new_parser(__doc__)
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--codec_dir", required=True, help="codec model dir (exp/codec_<tag>/model or official BiCodec)")
    p.add_argument("--lm_dir", required=True, help="LLM dir (exp/lm_<tag>/model or official LLM/)")
    p.add_argument("--out_dir", required=True, help="e.g. exp/lm_<tag>/decode_test_clone")
    p.add_argument("--meta_lst", help="clone: Seed-TTS style list (utt|prompt_text|prompt_wav|infer_text)")
    p.add_argument("--data_dir", help="create / voice: data dir with text (and stage-3 labels for create)")
    p.add_argument("--voice", help="voice: a voice file (tts_codec.tts.voice)")
    p.add_argument("--use_prompt_text", type=str2bool, default=False, help="clone: prompt B with the transcript")
    p.add_argument("--max_ref_seconds", type=positive_float, default=None, help="clone: trim the reference")
    p.add_argument("--fine_values", type=str2bool, default=False, help="create: pre-fill pitch/speed values")
    p.add_argument("--prompt_join", default="auto", choices=("none", "space", "auto"), help="prompt B text join")
    p.add_argument("--max_chars", type=non_negative_int, default=300, help="split longer text (0: never)")
    add_sampling_options(p)  # --seed (with the utterance id, it seeds each utterance's sampling), --temperature ...
    p.add_argument("--fast_decode", type=str2bool, default=False,
                   help="own decoding loop (tts_codec.lm.spark.fast_decode) instead of transformers generate")
    p.add_argument("--restrict_head", type=str2bool, default=False, help="fast_decode: semantic rows + EOS only "
                   "after <|start_semantic_token|>")
    p.add_argument("--static_cache", type=str2bool, default=False, help="fast_decode: preallocated KV cache")
    p.add_argument("--int8_weights", type=str2bool, default=False,
                   help="fast_decode: int8 weights for the generation steps (3.6x the generate path on 2 CPU cores; "
                        "not bit-exact, see tts_codec.lm.spark.fast_decode); needs --lm_dtype float32")
    p.add_argument("--int8_prefill", type=str2bool, default=False,
                   help="fast_decode: the prompt through the int8 weights too (needs --int8_weights)")
    p.add_argument("--codec_channels_last", type=str2bool, default=True,
                   help="CPU: the codec's wave generator computed channels-last (same weights; output within float "
                        "rounding, tts_codec.nn.channels_last)")
    p.add_argument("--batch_size", type=positive_int, default=1, help="utterances generated together")
    p.add_argument("--nj", type=positive_int, default=1, help="split the list into nj parts ...")
    p.add_argument("--nj_part", type=positive_int, default=1, help="... and speak part k (1-based)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--lm_dtype", default="float32", choices=sorted(LM_DTYPES))
    p.add_argument("--num_threads", type=non_negative_int, default=0, help="torch CPU threads (0: torch default)")
    add_overwrite(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    if args.nj_part > args.nj:
        raise UserError(f"--nj_part {args.nj_part} must be in 1..--nj {args.nj}")
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    sampling = sampling_from_args(args)
    job = DecodeJob(args.task, Path(args.out_dir), args.meta_lst, args.data_dir, args.voice, args.use_prompt_text,
                    args.max_ref_seconds, args.fine_values, args.batch_size, args.nj, args.nj_part, args.overwrite)
    entries = list_utterances(job)  # the list is checked before the models load
    if args.voice:
        load_voice(args.voice)
    fast = None
    if args.fast_decode or args.restrict_head or args.static_cache or args.int8_weights or args.int8_prefill:
        fast = FastDecodeConfig(restrict_head=args.restrict_head, dtype=args.lm_dtype, static_cache=args.static_cache,
                                int8_weights=args.int8_weights, int8_prefill=args.int8_prefill)
    tts = SparkTTS.from_dirs(args.codec_dir, args.lm_dir, args.device, args.lm_dtype,
                             codec_channels_last=args.codec_channels_last, max_chars=args.max_chars,
                             prompt_join=args.prompt_join, fast_decode=fast)
    settings = {k: str(getattr(args, k)) for k in ("task", "codec_dir", "lm_dir", "meta_lst", "data_dir", "voice",
                                                   "use_prompt_text", "max_ref_seconds", "fine_values", "prompt_join",
                                                   "max_chars", "lm_dtype")}
    settings.update(codec_model=model_fingerprint(args.codec_dir), lm_model=model_fingerprint(args.lm_dir))
    failed = decode_part(tts, job, entries, sampling, settings)
    if failed:
        log.warning("%d utterance(s) refused; see %s/parts/failed.%d", failed, args.out_dir, args.nj_part)
    print(f"tts_decode {args.task}: part {args.nj_part}/{args.nj} done in {args.out_dir}", file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
