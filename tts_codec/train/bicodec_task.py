"""BiCodec training (bicodec_spark.md §4): the generic GAN loop of `tts_codec.train.gan.task` plus the VQ,
speaker (x-vector -> d-vector) and SSL-reconstruction losses of the BiCodec generator step, and its data module
(segments of Kaldi data dirs, SSL features precomputed by stage 3 or computed on the fly)."""
from __future__ import annotations

import logging
from collections import ChainMap
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tts_codec.config import require
from tts_codec.data.ark import load_scp_dict
from tts_codec.data.codec_dataset import CodecDataModule, CodecSegmentDataset, SegmentConfig
from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError
from tts_codec.train.gan.task import GANCodecTask, GeneratorStep

log = logging.getLogger(__name__)


class BiCodecTask(GANCodecTask):
    """BiCodec training (bicodec_spark.md §4): GAN loop + VQ, speaker (x-vector -> d-vector) and SSL losses.

    Args:
        config: the resolved training config (codec keys + training keys).
        generator: the BiCodec to train; default `BiCodec.from_config(config)`.
    """

    CODEC_KEYS = ("codec", "sample_rate", "codec_conf", "ssl_conf")

    def __init__(self, config: dict[str, Any], generator: nn.Module | None = None):
        super().__init__(config)
        if generator is None:
            from tts_codec.codecs.bicodec import BiCodec

            generator = BiCodec.from_config({k: config[k] for k in self.CODEC_KEYS if k in config})
        self.generator = generator
        batch_size = int(require(config, "data.batch_size"))
        if batch_size < 2:
            raise UserError(f"data.batch_size is {batch_size}; BiCodec training needs at least 2 per process (the "
                            "speaker encoder's BatchNorm normalises over the batch)")
        self.hop_length = int(generator.hop_length)
        # The official test is `step > d_vector_train_start`, so batches 0..start are conditioned on the x-vector.
        self.d_vector_train_start = int(require(config, "d_vector_train_start"))
        self.apply_finetune()

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        return self.generator.parameters()

    def optional_terms(self) -> set[str]:
        return {"speaker"}

    def export(self, model_dir) -> None:
        self.generator.save_pretrained(model_dir)

    def ssl_features(self, batch: dict[str, Any]) -> torch.Tensor:
        """(B, T, D) SSL features of the target segments: precomputed, or run on `ssl_wav` and cropped."""
        if "ssl_feats" in batch:
            return batch["ssl_feats"]
        frames = batch["wav"].shape[-1] // self.hop_length
        extractor = self.generator.ssl_extractor.to(self.device)
        feats = extractor(batch["ssl_wav"])
        ctx = int(batch.get("ssl_context_frames", 0))
        feats = feats[:, ctx : ctx + frames]
        if feats.shape[1] < frames:  # zero-pad missing tail frames, as SparkVox does
            feats = F.pad(feats, (0, 0, 0, frames - feats.shape[1]))
        return feats

    def generate(self, batch: dict[str, Any], step: int, training: bool) -> GeneratorStep:
        feats = self.ssl_features(batch)
        use_d_vector = (not training) or step > self.d_vector_train_start
        out = self.generator(batch["wav"], feats, batch["ref_wav"], use_d_vector=use_d_vector)
        target = batch["wav"].unsqueeze(1)
        if out.recon.shape != target.shape:
            raise ValueError(f"generator output {tuple(out.recon.shape)} does not match target {tuple(target.shape)}")
        losses = {"commit": out.commit_loss, "codebook": out.codebook_loss,
                  "ssl_recon": F.mse_loss(out.ssl_recon, feats)}
        if training and use_d_vector:
            losses["speaker"] = F.mse_loss(out.d_vector, out.x_vector.detach())
        return GeneratorStep(out.recon, target, losses, out.semantic_tokens, int(self.generator.codebook_size))

    def extra_train_metrics(self, step: int) -> dict[str, float]:
        quantizer = getattr(self.generator, "quantizer", None)
        metrics = {"use_d_vector": float(step > self.d_vector_train_start)}
        if hasattr(quantizer, "active_codes"):
            metrics["codebook/active_codes"] = float(quantizer.active_codes())
        return metrics


def segment_config(config: Mapping[str, Any]) -> SegmentConfig:
    """Training segments: the codec's rate and hop, its segment keys (`codec_conf`), then the `data:` section."""
    codec = {k: v for k, v in require(config, "codec_conf").items() if not isinstance(v, dict)}
    return SegmentConfig.from_sections(
        {"sample_rate": require(config, "sample_rate"), "hop_length": require(config, "codec_conf.latent_hop_length")},
        codec, config.get("data") or {})


def find_feats_scps(feats_dir: str | Path, data_dir: str | Path) -> list[Path]:
    """SSL feature scps of a data dir: `<feats_dir>/<data dir name>/ssl_feats.scp`, else its `ssl_feats.*.scp` jobs."""
    root = Path(feats_dir) / Path(data_dir).name
    single = root / "ssl_feats.scp"
    scps = [single] if single.is_file() else sorted(root.glob("ssl_feats.*.scp"))
    if not scps:
        raise UserError(f"--feats_dir: no {single} (nor ssl_feats.<job>.scp files) for data dir {data_dir}; "
                        "run stage 3 (python -m tts_codec.bin.extract_ssl_feats) first")
    return scps


def load_feats(scps: Sequence[Path]) -> Mapping[str, Any]:
    """One lazy utt -> array mapping over several scps."""
    return ChainMap(*[load_scp_dict(scp) for scp in scps])


def build_datamodule(config: dict[str, Any], train_data: str | Path, valid_data: str | Path | None,
                     feats_dir: str | Path | None = None) -> CodecDataModule:
    """The CodecDataModule over Kaldi data dirs (SSL features from `feats_dir` when given)."""
    seg = segment_config(config)
    data = require(config, "data")

    def dataset(path, train):
        feats = load_feats(find_feats_scps(feats_dir, path)) if feats_dir else None
        return CodecSegmentDataset(DataDir.load(path), seg, train=train, ssl_feats=feats)

    return CodecDataModule(
        dataset(train_data, True), dataset(valid_data, False) if valid_data else None,
        batch_size=int(require(config, "data.batch_size")), valid_batch_size=int(data.get("valid_batch_size", 1)),
        num_workers=int(data.get("num_workers", 0)), seed=int(config.get("seed", 0)),
    )
