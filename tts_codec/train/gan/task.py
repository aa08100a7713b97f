"""The generic waveform-GAN training loop shared by every codec (BiCodec now, SNAC later).

`GANCodecTask` owns the discriminator, the optimisers and the loop (discriminator step, then generator step, both
clipped; Lightning 2 manual optimisation) and only sees waveforms; a subclass supplies `generate()`. Lightning's
`global_step` counts optimiser steps, so one training batch advances it by OPTIMIZER_STEPS_PER_BATCH; every "step"
in our configs (max_steps, d_vector_train_start, checkpoint intervals) counts batches (= `batches_done`).
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Iterable, NamedTuple, Sequence

import lightning as L
import torch
from torch import nn

from tts_codec.config import require
from tts_codec.errors import UserError
from tts_codec.train.codebook_stats import CodebookUsage, codebook_stats, stats_from_counts
from tts_codec.train.gan.finetune import finetune_options, freeze_submodules, load_generator_weights
from tts_codec.train.gan import (
    MultiScaleMelLoss,
    WaveDiscriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from tts_codec.train.rng_state import load_rng_states, save_rng_states
from tts_codec.train.schedulers import build_scheduler

log = logging.getLogger(__name__)

OPTIMIZER_STEPS_PER_BATCH = 2  # discriminator + generator
OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}
GAN_TERMS = ("mel", "adv", "feat")


class GeneratorStep(NamedTuple):
    """What a codec's generator step hands to the GAN loop."""

    recon: torch.Tensor  # (B, 1, N) generated audio
    target: torch.Tensor  # (B, 1, N) ground truth
    losses: dict[str, torch.Tensor]  # extra loss terms, weighted by loss_weights[name]
    codes: torch.Tensor | None = None  # (B, ...) token ids for codebook statistics
    codebook_size: int | None = None


class GANCodecTask(L.LightningModule):
    """Generic waveform-GAN trainer; subclasses implement `generator_parameters()` and `generate()`.

    Config keys: discriminator, mel_loss, loss_weights, optim/optim_conf, scheduler/scheduler_conf,
    grad_clip {gen, disc}, trainer.num_audio_samples.
    """

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.automatic_optimization = False
        self.optimizer_steps_per_batch = OPTIMIZER_STEPS_PER_BATCH  # read by tts_codec.train.trainer
        self.config = copy.deepcopy(config)
        self.save_hyperparameters({"config": self.config})  # the resolved config travels in every checkpoint
        self.discriminator = WaveDiscriminator.from_config(dict(require(config, "discriminator")))
        self.mel_loss = MultiScaleMelLoss.from_config(dict(require(config, "mel_loss")))
        self.loss_weights = {k: float(v) for k, v in require(config, "loss_weights").items()}
        clip = config.get("grad_clip", {})
        self.grad_clip = {"gen": float(clip.get("gen", 1.0)), "disc": float(clip.get("disc", 1.0))}
        self.num_audio_samples = int(config.get("trainer", {}).get("num_audio_samples", 2))
        # Ours: a mel-only phase first (no discriminator step, no adversarial/feature-matching terms) for this many
        # batches; 0 (official) trains the GAN from the first batch.
        self.adversarial_start = int(config.get("adversarial_start", 0))
        self._val_usage: CodebookUsage | None = None
        self._audio_targets_logged: set[str] = set()
        # Fine-tuning (ours): start from a trained model dir and freeze the token-making submodules (finetune.py).
        self.init_from, self.freeze = finetune_options(self.config)
        self._frozen: list[nn.Module] = []

    # ------------------------------------------------------------------ subclass API
    def generator_parameters(self) -> Iterable[nn.Parameter]:
        raise NotImplementedError

    def generate(self, batch: dict[str, Any], step: int, training: bool) -> GeneratorStep:
        raise NotImplementedError

    def export(self, model_dir) -> None:
        """Write the trained generator in its inference format (called by `tts_codec.train.trainer.fit`)."""
        raise NotImplementedError

    def extra_train_metrics(self, step: int) -> dict[str, float]:
        """Model-specific scalars logged after training batch `step` (none by default)."""
        return {}

    # ------------------------------------------------------------------ fine-tuning
    def apply_finetune(self) -> None:
        """Load `init_from` into `self.generator` and freeze the `freeze` submodules; subclasses call it at the end
        of `__init__`, so a bad directory fails before anything is written (a resumed run's checkpoint then wins)."""
        if self.init_from:
            load_generator_weights(self.generator, self.init_from)
            log.info("generator initialised from %s", self.init_from)
        if self.freeze:
            self._frozen = freeze_submodules(self.generator, self.freeze)
            frozen = sum(p.numel() for m in self._frozen for p in m.parameters())
            log.info("frozen %s: %d parameters (kept in eval mode)", ", ".join(self.freeze), frozen)
            self.train(self.training)

    def train(self, mode: bool = True) -> "GANCodecTask":
        """As nn.Module.train, but frozen submodules stay in eval mode (no dead-code resets, fixed batch norms)."""
        super().train(mode)
        for module in getattr(self, "_frozen", ()):
            module.eval()
        return self

    # ------------------------------------------------------------------ optimisation
    @property
    def batches_done(self) -> int:
        """Training batches completed (restored on resume); 0 before a trainer is attached."""
        trainer = self._trainer
        return 0 if trainer is None else trainer.global_step // self.optimizer_steps_per_batch

    def configure_optimizers(self):
        name = str(self.config.get("optim", "adamw"))
        if name not in OPTIMIZERS:
            raise UserError(f"config optim: unknown optimiser {name!r}; known: {sorted(OPTIMIZERS)}")
        conf = dict(self.config.get("optim_conf", {}))
        sched_name = str(self.config.get("scheduler", "warmuplr"))
        sched_conf = dict(self.config.get("scheduler_conf", {}))
        pairs = []
        for role, params in (("gen", self.generator_parameters()), ("disc", self.discriminator.parameters())):
            try:
                opt = OPTIMIZERS[name]([p for p in params if p.requires_grad], **{"lr": 1.0, **conf})
            except TypeError as err:
                raise UserError(f"config optim_conf: {err}") from None
            pairs.append((opt, build_scheduler(sched_name, opt, sched_conf)))
        return [p[0] for p in pairs], [{"scheduler": p[1], "interval": "step"} for p in pairs]

    def _update(self, optimizer, scheduler, loss: torch.Tensor, clip: float,
                utts: Sequence[str] = ()) -> torch.Tensor:
        """Backward, clip, step; a non-finite loss on any rank skips the update everywhere (as SparkVox does); the
        warning names the batch's utterances `utts`."""
        optimizer.zero_grad(set_to_none=True)
        finite = self.trainer.strategy.reduce_boolean_decision(bool(torch.isfinite(loss)), all=True)
        if not finite:
            log.warning("non-finite loss at batch %d (utterances %s): update skipped", self.batches_done,
                        " ".join(utts) or "unknown")
            optimizer.step()  # no gradients: parameters stay, but Lightning's step counter stays in sync
            return torch.tensor(float("nan"))
        self.manual_backward(loss)
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        norm = torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        scheduler.step()
        return norm

    def weighted_total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """Sum of loss_weights[name] * term over terms with a non-zero weight (unknown weight names fail)."""
        unknown = sorted(set(self.loss_weights) - set(terms) - set(GAN_TERMS) - self.optional_terms())
        if unknown:
            raise UserError(f"config loss_weights: unknown term(s) {unknown}; known: {sorted(set(terms))}")
        total = terms["mel"].new_zeros(())
        for name, value in terms.items():
            if self.loss_weights.get(name, 0.0):
                total = total + self.loss_weights[name] * value
        return total

    def optional_terms(self) -> set[str]:
        """Loss names a subclass produces only on some steps (so their weights are valid when absent)."""
        return set()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        step = self.batches_done
        opt_g, opt_d = self.optimizers()
        sched_g, sched_d = self.lr_schedulers()
        out = self.generate(batch, step=step, training=True)
        lrs = {"train/lr/gen": opt_g.param_groups[0]["lr"], "train/lr/disc": opt_d.param_groups[0]["lr"]}

        adversarial = step >= self.adversarial_start
        self.toggle_optimizer(opt_d)
        if adversarial:
            d_loss = discriminator_loss(self.discriminator(out.target), self.discriminator(out.recon.detach()))
            d_norm = self._update(opt_d, sched_d, d_loss, self.grad_clip["disc"], batch.get("utt_ids", ()))
        else:  # mel-only phase: an empty step keeps Lightning's step counter at 2 per batch
            opt_d.zero_grad(set_to_none=True)
            opt_d.step()
            d_loss = d_norm = torch.zeros(())
        self.untoggle_optimizer(opt_d)

        self.toggle_optimizer(opt_g)
        # The discriminator runs before the mel loss is built: autograd then sums the gradients reaching the
        # waveform in the same order as before the mel-only phase existed, so official-config runs stay bit-exact.
        if adversarial:
            fake = self.discriminator(out.recon)
            with torch.no_grad():
                real = self.discriminator(out.target)
        terms = {"mel": self.mel_loss(out.recon, out.target)}
        if adversarial:
            terms.update(adv=generator_adversarial_loss(fake), feat=feature_matching_loss(real, fake))
        terms.update(out.losses)
        total = self.weighted_total(terms)
        g_norm = self._update(opt_g, sched_g, total, self.grad_clip["gen"], batch.get("utt_ids", ()))
        self.untoggle_optimizer(opt_g)

        metrics = {f"train/gen/{k}": v.detach() for k, v in terms.items()}
        metrics.update({"train/gen/total": total.detach(), "train/gen/grad_norm": g_norm,
                        "train/disc/loss": d_loss.detach(), "train/disc/grad_norm": d_norm, **lrs})
        if out.codes is not None:
            stats = codebook_stats(out.codes, out.codebook_size)
            metrics.update({"train/codebook/perplexity": stats.perplexity,
                            "train/codebook/used_share": stats.used_share})
        metrics.update({f"train/{k}": v for k, v in self.extra_train_metrics(step).items()})
        bsz = out.target.shape[0]
        self.log_dict({k: torch.as_tensor(v, dtype=torch.float32) for k, v in metrics.items()}, on_step=True,
                      batch_size=bsz)
        self.log("mel", terms["mel"].detach(), prog_bar=True, logger=False, batch_size=bsz)
        # Checkpoint names and "keep the newest k" use this: batches done after this step.
        self.log("batch_step", float(step + 1), logger=False, batch_size=bsz)

    # ------------------------------------------------------------------ validation
    def on_validation_epoch_start(self) -> None:
        self._val_usage = None

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        out = self.generate(batch, step=self.batches_done, training=False)
        bsz = out.target.shape[0]
        self.log("val/mel", self.mel_loss(out.recon, out.target), sync_dist=True, batch_size=bsz, prog_bar=True)
        for name, value in out.losses.items():
            self.log(f"val/{name}", value, sync_dist=True, batch_size=bsz)
        if out.codes is not None:
            self._val_usage = self._val_usage or CodebookUsage(out.codebook_size)
            self._val_usage.update(out.codes)
        if batch_idx < self.num_audio_samples and self.global_rank == 0:
            self._log_audio(batch, out, batch_idx)

    def on_validation_epoch_end(self) -> None:
        if self._val_usage is None:
            return
        counts = self.trainer.strategy.reduce(self._val_usage.counts.to(self.device), reduce_op="sum")
        stats = stats_from_counts(counts.cpu())
        self.log_dict({"val/codebook/perplexity": stats.perplexity, "val/codebook/used_share": stats.used_share})

    def _log_audio(self, batch: dict[str, Any], out: GeneratorStep, index: int) -> None:
        """Audio and mel images of one validation sample in TensorBoard."""
        writer = getattr(self.logger, "experiment", None)
        if writer is None or not hasattr(writer, "add_audio") or self.trainer.sanity_checking:
            return
        name = batch.get("utt_ids", [str(index)])[0]
        sr = int(self.config.get("sample_rate", 16000))
        step = self.batches_done
        target, recon = out.target[0].detach().float().cpu(), out.recon[0].detach().float().cpu().clamp(-1, 1)
        writer.add_audio(f"val/audio/{name}/recon", recon, step, sample_rate=sr)
        if name not in self._audio_targets_logged:  # the target never changes: log it once per run
            writer.add_audio(f"val/audio/{name}/target", target, step, sample_rate=sr)
            self._audio_targets_logged.add(name)
        writer.add_figure(f"val/mel/{name}", self._mel_figure(target, recon), step)

    def _mel_figure(self, target: torch.Tensor, recon: torch.Tensor):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        index = min(range(len(self.mel_loss.window_lengths)), key=lambda i: abs(self.mel_loss.window_lengths[i] - 1024))
        fig, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
        for ax, wav, title in zip(axes, (target, recon), ("target", "reconstruction")):
            mel = self.mel_loss.log_mel(wav.reshape(1, -1).to(self.device), index)[0].cpu().numpy()
            ax.imshow(mel, origin="lower", aspect="auto", interpolation="none")
            ax.set_title(title)
        fig.tight_layout()
        return fig

    # ------------------------------------------------------------------ exact resume
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        save_rng_states(checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        load_rng_states(checkpoint)
