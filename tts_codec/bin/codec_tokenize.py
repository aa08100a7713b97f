"""Recipe stage 6: tokenize every utterance of a data dir with a trained codec into a codes dir.

Writes `semantic.ark/scp`, `global.ark/scp`, `codes_info.json` (see `tts_codec.data.token_file`) and `failed`
(`utt reason`) for utterances that cannot be tokenized (too short, unreadable); those do not stop the job, which
exits non-zero only when every utterance failed. A complete out_dir of the same model is skipped; one of another
model is refused unless `--overwrite true`. run.sh runs one call per split (`--data_dir .../splitN/JOB
--out_dir .../part.JOB`) and then `merge_scp`.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from tts_codec.cli import new_parser, run_main, str2bool
from tts_codec.data.dsp import prepare_audio
from tts_codec.codecs.inference import add_inference_args, apply_inference_args, load_codec, tokenize_batch
from tts_codec.data.token_file import INFO_FILE, CodesInfo, TokenWriter, bicodec_info, read_failed, read_info
from tts_codec.data.ark import load_scp_dict
from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError

log = logging.getLogger("codec_tokenize")


def is_complete(out_dir: Path, info: CodesInfo, utts: list[str], overwrite: bool) -> bool:
    """True when out_dir already holds this model's tokens for every utterance (and overwrite is off)."""
    if overwrite or not (out_dir / INFO_FILE).is_file():
        return False
    old = read_info(out_dir)
    if not old.same_codes(info):
        raise UserError(f"{out_dir / INFO_FILE}: holds tokens of another model (config hash {old.config_hash}, this "
                        f"model {info.config_hash}); pass --overwrite true to replace them")
    done = set(load_scp_dict(out_dir / "semantic.scp")) | set(read_failed(out_dir))
    missing = [u for u in utts if u not in done]
    if missing:
        raise UserError(f"{out_dir}: complete codes dir lacks {len(missing)} utterances of the data dir (e.g. "
                        f"{missing[0]!r}); pass --overwrite true to redo it")
    return True


def load_wav(data: DataDir, utt: str, model, min_samples: int) -> np.ndarray:
    """Front-ended audio of one utterance; UserError with the reason when it cannot be tokenized."""
    wav = prepare_audio(data.load_audio(utt, target_sr=model.sample_rate), model.sample_rate, model.sample_rate,
                        model.volume_normalize, what=utt)
    if len(wav) < min_samples:
        raise UserError(f"too short: {len(wav)} samples ({len(wav) / model.sample_rate:.3f} s), the codec needs "
                        f"at least {min_samples}")
    return wav


def length_order(data: DataDir) -> list[str]:
    """Utterances sorted by utt2num_samples when known (less padding in batches), else by id."""
    lengths = data.extra.get("utt2num_samples", {})
    return sorted(data.utt_ids, key=lambda u: (int(lengths[u]) if u in lengths else 0, u))


def tokenize_dir(model, data: DataDir, out_dir: Path, info: CodesInfo, batch_size: int, device: str) -> tuple[int, int]:
    """Tokenize all utterances of `data` into out_dir; returns (tokenized, failed) counts."""
    min_samples = model.ssl_extractor.min_samples
    order = length_order(data)
    (out_dir / INFO_FILE).unlink(missing_ok=True)  # an interrupted rerun must not look complete
    with TokenWriter(out_dir, info, overwrite=True) as writer, tqdm(total=len(order), desc=str(out_dir),
                                                                   mininterval=5, unit="utt") as bar:
        for start in range(0, len(order), batch_size):
            utts, wavs = [], []
            for utt in order[start:start + batch_size]:
                try:
                    wavs.append(load_wav(data, utt, model, min_samples))
                    utts.append(utt)
                except UserError as err:
                    log.warning("%s: %s", utt, err)
                    writer.fail(utt, str(err))
            if wavs:
                for utt, tokens in zip(utts, tokenize_batch(model, wavs, device)):
                    writer.add(utt, tokens)
            bar.update(len(order[start:start + batch_size]))
    return len(writer), len(writer.failed)


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
    info = bicodec_info(model, args.model_dir)
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
