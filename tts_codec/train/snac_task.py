"""SNAC training (mars6_snac.md §10): the generic GAN loop of `tts_codec.train.gan.task` (multi-scale mel L1,
adversarial and feature-matching terms, DAC style) plus the commitment and codebook losses of SNAC's quantizer, and
its data module (random segments of Kaldi data dirs at the codec's rate; no SSL features, no reference clip).
Ours, off by default: `content_distill:` adds the `content` term of `tts_codec.train.content_distill`;
`dead_code_restart:` restarts codes unused for a number of batches (`tts_codec.train.dead_codes`)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from tts_codec.config import require
from tts_codec.data.codec_dataset import CodecDataModule, CodecSegmentDataset, SegmentConfig
from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError
from tts_codec.train.codebook_stats import codebook_stats
from tts_codec.train.content_distill import ContentDistillation, Teacher
from tts_codec.train.dead_codes import DeadCodeRestart, RestartConfig
from tts_codec.train.gan.task import GANCodecTask, GeneratorStep

log = logging.getLogger(__name__)

CODEC_KEYS = ("codec", "sample_rate", "codec_conf", "wave_encoder", "wave_decoder")
#: segment keys SNAC fixes: no reference clip, no SSL context; its `prepare` neither normalises nor filters
SNAC_SEGMENTS = {"ref_segment_duration": 0.0, "ssl_context_duration": 0.0, "volume_normalize": False,
                 "highpass_cutoff_freq": 0.0}


class SNACTask(GANCodecTask):
    """SNAC training: GAN loop + the quantizer's `commit` and `codebook` terms (weights in `loss_weights`).

    Args:
        config: the resolved training config (codec keys `codec`, `sample_rate`, `codec_conf`, optional
            `wave_encoder`, `wave_decoder` + training keys).
        generator: the SNAC to train; default `SNACCodec.from_config(config)`.
        teacher: the content teacher when `content_distill` is set (default: built from that section).
    """

    def __init__(self, config: dict[str, Any], generator: nn.Module | None = None, teacher: Teacher | None = None):
        super().__init__(config)
        if generator is None:
            from tts_codec.codecs.snac import SNACCodec

            generator = SNACCodec.from_config({k: config[k] for k in CODEC_KEYS if k in config})
        self.generator = generator
        seg = segment_config(config, generator.hop_length)
        if (seg.frames_multiple * seg.hop_length) % generator.pad_multiple:
            raise UserError(f"config data.frames_multiple {seg.frames_multiple}: segments must be whole multiples "
                            f"of {generator.pad_multiple} samples (SNAC's padding unit), so frames_multiple * "
                            f"{seg.hop_length} must be a multiple of {generator.pad_multiple}")
        self._level_stats: dict[str, float] = {}
        self.content = self._content_distillation(config, teacher)
        restart = RestartConfig.from_section(config.get("dead_code_restart"))
        self.dead_codes = None if restart is None else DeadCodeRestart(
            restart, [vq.codebook.num_embeddings for vq in generator.model.quantizer.quantizers],
            seed=int(config.get("seed", 0)))
        self._restart_inputs: tuple[int, list[torch.Tensor], list[torch.Tensor]] | None = None
        self.apply_finetune()

    def _content_distillation(self, config: Mapping[str, Any], teacher: Teacher | None) -> ContentDistillation | None:
        """The `content` term's module when `content_distill` is set (which then needs `loss_weights.content`)."""
        conf = config.get("content_distill")
        if conf is None:
            if self.loss_weights.get("content"):
                raise UserError("config loss_weights.content is set but there is no content_distill section")
            return None
        if not self.loss_weights.get("content"):
            raise UserError("config content_distill needs a positive loss_weights.content (the term's weight)")
        gen = self.generator
        return ContentDistillation.from_config(conf, int(gen.model.latent_dim), int(gen.sample_rate),
                                               gen.sample_rate / gen.hop_length, len(gen.vq_strides), teacher)

    def generator_parameters(self) -> Iterable[nn.Parameter]:
        params = list(self.generator.parameters())
        return params + list(self.content.parameters()) if self.content is not None else params

    def export(self, model_dir) -> None:
        self.generator.save_pretrained(model_dir)

    def generate(self, batch: dict[str, Any], step: int, training: bool) -> GeneratorStep:
        target = batch["wav"].unsqueeze(1)
        out = self.generator(target)
        size = int(self.generator.model.codebook_size)
        if training:
            for i, codes in enumerate(out.codes):
                stats = codebook_stats(codes, size)
                self._level_stats[f"codebook/l{i}/perplexity"] = stats.perplexity
            if self.dead_codes is not None:
                self._restart_inputs = (step, [c.detach() for c in out.codes], [z.detach() for z in out.latents])
        # All levels in one histogram, level i's codes offset by i * size: usage over the joint vocabulary.
        joint = torch.cat([codes.reshape(codes.shape[0], -1) + i * size for i, codes in enumerate(out.codes)], 1)
        losses = {"commit": out.commit_loss, "codebook": out.codebook_loss}
        if self.content is not None:
            losses["content"] = self.content(sum(out.levels[:self.content.levels]), target)
        return GeneratorStep(out.recon, target, losses, joint, size * len(out.codes))

    def extra_train_metrics(self, step: int) -> dict[str, float]:
        return dict(self._level_stats)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Dead-code restart after both optimizer steps (a codebook row changed before the backward pass would
        differ from the one its gradient was computed for); the counts are logged with the next batch."""
        if self.dead_codes is None or self._restart_inputs is None:
            return
        step, codes, latents = self._restart_inputs
        self._restart_inputs = None
        codebooks = [vq.codebook.weight.data for vq in self.generator.model.quantizer.quantizers]
        for i, count in enumerate(self.dead_codes.step(step, codebooks, codes, latents)):
            self._level_stats[f"codebook/l{i}/restarted"] = float(count)


def segment_config(config: Mapping[str, Any], hop_length: int) -> SegmentConfig:
    """Training segments at the codec's rate and hop with SNAC's fixed keys, then the `data:` section; a data key
    that would give SNAC a reference clip or a loudness change it never sees at inference is refused."""
    data = dict(config.get("data") or {})
    for key, value in SNAC_SEGMENTS.items():
        if key in data and data[key] != value:
            raise UserError(f"config data.{key}: SNAC training uses {value} (its front end has no such step)")
    return SegmentConfig.from_sections({"sample_rate": require(config, "sample_rate"), "hop_length": hop_length},
                                       SNAC_SEGMENTS, data)


def build_datamodule(config: dict[str, Any], train_data: str | Path, valid_data: str | Path | None,
                     feats_dir: str | Path | None = None) -> CodecDataModule:
    """The CodecDataModule over Kaldi data dirs (audio resampled to the codec's rate when loaded). SNAC reads audio
    only: `feats_dir` (which the recipe passes whenever stage 3 wrote features) is not used."""
    from tts_codec.codecs.snac import hop_length_of

    if feats_dir is not None:
        log.info("SNAC training reads audio only: --feats_dir %s is not used", feats_dir)
    seg = segment_config(config, hop_length_of(config))
    data = require(config, "data")

    def dataset(path, train):
        return CodecSegmentDataset(DataDir.load(path), seg, train=train)

    return CodecDataModule(
        dataset(train_data, True), dataset(valid_data, False) if valid_data else None,
        batch_size=int(require(config, "data.batch_size")), valid_batch_size=int(data.get("valid_batch_size", 1)),
        num_workers=int(data.get("num_workers", 0)), seed=int(config.get("seed", 0)),
    )
