"""Recipe stage 3 (Spark): frozen SSL features (wav2vec2 layer mix, 50 Hz) of every utterance, for BiCodec training.

Each utterance gets the training front-end (volume normalisation, 40 Hz high-pass; `tts_codec.data.codec_dataset`)
and one extra hop of zeros at the end, so that frame t covers samples [t * hop, t * hop + 400) and the utterance
has about N / hop frames. Output: `ssl_feats.ark/scp` (or `ssl_feats.<job>.ark/scp` with `--job`, one per split
data dir; `train_codec --feats_dir` reads them all) and `ssl_feats_info.json`. A complete output for the same SSL
config is skipped; anything else already there is refused unless `--overwrite true`.
"""
from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm import tqdm

from tts_codec.atomic import atomic_write
from tts_codec.cli import new_parser, positive_int, run_main, str2bool
from tts_codec.codecs.bicodec import SSLFeatureExtractor
from tts_codec.codecs.bicodec.ssl import set_ssl_model_dir
from tts_codec.config import load_config
from tts_codec.data.ark import ArkWriter, load_scp_dict
from tts_codec.data.codec_dataset import SegmentConfig, preprocess_audio
from tts_codec.data.datadir import DataDir
from tts_codec.devices import resolve_device
from tts_codec.errors import UserError
from tts_codec.train.bicodec_task import segment_config

log = logging.getLogger("extract_ssl_feats")
INFO = "ssl_feats_info.json"


def output_paths(out_dir: Path, job: int | None) -> tuple[Path, Path, Path]:
    """(ark, scp, info) of one job."""
    stem = "ssl_feats" if job is None else f"ssl_feats.{job}"
    info = INFO if job is None else f"ssl_feats_info.{job}.json"
    return out_dir / f"{stem}.ark", out_dir / f"{stem}.scp", out_dir / info


def is_done(scp: Path, info_path: Path, info: dict, utts: list[str], overwrite: bool) -> bool:
    """True when `scp` already holds every utterance, extracted with the same settings."""
    if overwrite or not scp.is_file():
        return False
    old = json.loads(info_path.read_text()) if info_path.is_file() else None
    missing = set(utts) - set(load_scp_dict(scp))
    if old != info or missing:
        why = "other SSL settings" if old != info else f"{len(missing)} utterances missing"
        raise UserError(f"{scp} exists ({why}); pass --overwrite true to extract again")
    return True


def extract(data: DataDir, extractor: SSLFeatureExtractor, seg: SegmentConfig, ark: Path, scp: Path,
            device: str, dtype: str, overwrite: bool, info: tuple[Path, dict]) -> None:
    """Write the features of every utterance of `data`, then `info` (path, record); an unreadable utterance or
    non-finite features stop the job with the utterance's name, and nothing is written."""
    with ArkWriter(ark, scp, overwrite=overwrite) as writer:
        for utt in tqdm(data.utt_ids, desc=str(scp), unit="utt", mininterval=5):
            try:
                wav = preprocess_audio(data.load_audio(utt, seg.sample_rate), seg)
            except UserError as err:
                raise UserError(f"utterance {utt}: {err}") from None
            wav = np.pad(wav, (0, max(seg.hop_length, extractor.min_samples - wav.shape[0])))
            with torch.inference_mode():
                feats = extractor(torch.from_numpy(wav).to(device)[None])[0]
            feats = feats.float().cpu().numpy().astype(dtype)
            if not np.isfinite(feats).all():
                hint = "; --dtype float32 avoids float16 overflow" if dtype == "float16" else ""
                raise UserError(f"utterance {utt}: its {dtype} SSL features hold NaN or infinite values{hint}")
            writer[utt] = feats
        with atomic_write(info[0]) as handle:  # before the scp is published: a complete scp has its info beside it
            json.dump(info[1], handle, indent=2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--config", required=True, help="training config (its ssl_conf and front-end keys are used)")
    parser.add_argument("--data_dir", required=True, help="data dir (or one split of it)")
    parser.add_argument("--out_dir", required=True, help="feature dir, e.g. dump/feats/<set>")
    parser.add_argument("--job", type=positive_int, default=None,
                        help="job number of a split data dir (names the outputs)")
    parser.add_argument("--ssl_model_dir", default=None, help="local wav2vec2 directory (overrides ssl_conf.model_dir)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="torch device (cpu, cuda, cuda:N)")
    parser.add_argument("--dtype", choices=("float32", "float16"), default="float32", help="stored feature type")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="replace existing features")
    args = parser.parse_args(argv)

    args.device = resolve_device(args.device)
    config = load_config(args.config)
    set_ssl_model_dir(config, args.ssl_model_dir)
    seg = segment_config(config)
    data = DataDir.load(args.data_dir)
    out_dir = Path(args.out_dir)
    ark, scp, info_path = output_paths(out_dir, args.job)
    info = {"version": 1, "ssl_conf": config.get("ssl_conf"), "sample_rate": seg.sample_rate,
            "hop_length": seg.hop_length, "volume_normalize": seg.volume_normalize,
            "highpass_cutoff_freq": seg.highpass_cutoff_freq, "dtype": args.dtype}
    if is_done(scp, info_path, info, data.utt_ids, args.overwrite):
        log.info("%s already holds all %d utterances; skipping", scp, len(data.utt_ids))
        return 0
    extractor = SSLFeatureExtractor.from_config(config).to(args.device)
    created = not out_dir.exists()
    try:
        extract(data, extractor, seg, ark, scp, args.device, args.dtype, args.overwrite, (info_path, info))
    except BaseException:
        if created:  # a failed first run leaves no empty output dir (other jobs' files keep it)
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise
    log.info("wrote %s: %d utterances, %d-dim features", scp, len(data.utt_ids), extractor.dim)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
