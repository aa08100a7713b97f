"""MARS6 training (stage 8, mars6_snac.md §7): teacher-forced cross entropy over every token of every patch (the
EOS row included), an optional anti-repetition ("flux") term, conditioning dropout, exact resume, TensorBoard.

Anti-repetition loss, discrete formulation. MELLE's flux loss rewards change between consecutive continuous
frames. With tokens the stall it fights is the model re-emitting the previous patch's coarse code (the loop that
RAS catches at inference), so the term is the probability the model gives, at the L0 position of patch t, to the
L0 code of patch t-1, averaged over the patches whose true L0 code differs from the previous one:
    flux = mean_{t: y_t != y_{t-1}} softmax(logits_t^{L0})[y_{t-1}].
Genuine repeats in the data are not penalised, the term is bounded in [0, 1] and it is zero for a model that is
already right; weight it with `loss_weights.flux` (0 = off, the default).

One training batch = one optimiser step of `data.accumulate_grad_batches` micro-batches; the CE is summed over the
target tokens of the step and divided by their count. Logs `train/loss`, `train/ce`, `train/flux`,
`train/guided_attention`, `val/loss`, `val/acc`, `val/acc_l0` (accuracy of the coarsest token) and
`val/guided_attention` (for every run, the term's penalty of the validation cross-attention: how far from the
text-patch diagonal it looks; sigma 0.2 and every head unless the run sets them).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, NamedTuple

import lightning as L
import torch
import torch.nn.functional as F

from tts_codec.config import require
from tts_codec.data.lm_dataset import IGNORE
from tts_codec.errors import UserError
from tts_codec.lm.mars6.model import Mars6
from tts_codec.lm.mars6.model_dir import fine_tuning_config, load_weights, model_config, save_model_dir
from tts_codec.lm.mars6.text import Mars6Text
from tts_codec.train.lm.guided_attention import (guided_attention_loss, guided_attention_settings,
                                                guided_attention_sums)
from tts_codec.train.lm.level_loss import level_cross_entropy, level_hits, level_scores
from tts_codec.train.lm.manual_step import finish_step, micro_batch_sync
from tts_codec.train.lm.spark_task import SparkLMTask, input_noise_share, set_dir
from tts_codec.train.rng_state import load_rng_states, save_rng_states

LOSS_NAMES = ("ce", "flux", "guided_attention")


def flux_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The anti-repetition term (module docstring) from logits (B, S, P, V) and targets (B, S, P); only position 0
    is read, so the level-restricted scores of level 0 (B, S, 1, C+1) with their targets serve as well."""
    l0 = targets[:, :, 0]
    prev, cur = l0[:, :-1], l0[:, 1:]
    moved = (prev != IGNORE) & (cur != IGNORE) & (prev != cur)
    if not moved.any():
        return logits.new_zeros(())
    probs = torch.softmax(logits[:, 1:, 0].float(), dim=-1)  # (B, S-1, V)
    mass = probs.gather(-1, prev.clamp(min=0)[..., None])[..., 0]
    return mass[moved].mean()


class BatchScores(NamedTuple):
    """What a teacher-forced batch gives the losses and metrics: the summed CE of its targets, which positions the
    argmax gets right (B, S, P), and the logits and targets of position 0 for the flux term (either the whole head's
    or the level-restricted rows', `tts_codec.train.lm.level_loss`)."""

    ce_sum: torch.Tensor
    hits: torch.Tensor
    l0_logits: torch.Tensor
    l0_targets: torch.Tensor


def corrupt_patch_inputs(patches: torch.Tensor, targets: torch.Tensor, rate: float) -> torch.Tensor:
    """A copy of the (B, S, P) `patches` where each real patch (not EOS padding) is, with probability `rate`,
    replaced by a real patch drawn from the same batch: the global decoder's input noise (ours; the idea of
    Tacotron's always-on prenet dropout, as `semantic_input_noise` for the Spark LM). Without it a small model
    predicts the next patch from the last few and never learns to read the text. Targets and the local decoder's
    inputs stay clean."""
    real = (targets != IGNORE).all(dim=-1)  # (B, S): patches with every token a target (the EOS row included)
    chosen = real & (torch.rand(real.shape, device=patches.device) < rate)
    n = int(chosen.sum())
    if n == 0:
        return patches
    pool = patches[real]
    corrupted = patches.clone()
    corrupted[chosen] = pool[torch.randint(len(pool), (n,), device=patches.device)]
    return corrupted


class Mars6Task(L.LightningModule):
    """Train MARS6.

    Args:
        config: resolved config: lm_conf, tokenizer_dir, optim/optim_conf, scheduler/scheduler_conf, grad_clip,
            loss_weights {ce, flux, guided_attention}, data, patch_input_noise (ours, 0 = off:
            `corrupt_patch_inputs` on the global decoder's training inputs), guided_attention {sigma, heads} (ours,
            optional: `tts_codec.train.lm.guided_attention`), level_restricted_loss (ours, default false: training
            and validation score each position against its level's rows only, `tts_codec.train.lm.level_loss`),
            init_llm_dir (optional: a MARS6 model dir to fine-tune, float or int8-packed; its weights, tokenizer
            and architecture, `tts_codec.lm.mars6.model_dir.fine_tuning_config`).
    """

    optimizer_steps_per_batch = 1
    build_optimizer = SparkLMTask.build_optimizer  # the same optim/scheduler keys as the Spark LM
    batches_done = SparkLMTask.batches_done

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.automatic_optimization = False
        config = with_init_model(config)
        self.config = copy.deepcopy(config)
        self.save_hyperparameters({"config": self.config})
        self.text = Mars6Text.load(require(config, "tokenizer_dir"))
        self.model = Mars6(model_config(config, self.text))
        if config.get("init_llm_dir"):  # a resumed run then loads its checkpoint over these
            load_weights(self.model, config["init_llm_dir"])
        self.config["lm_conf"] = {**(config.get("lm_conf") or {}), "text_vocab": self.model.cfg.text_vocab}
        weights = {"ce": 1.0, "flux": 0.0, "guided_attention": 0.0, **(config.get("loss_weights") or {})}
        unknown = sorted(set(weights) - set(LOSS_NAMES))
        if unknown:
            raise UserError(f"config loss_weights: unknown {unknown}; known: {list(LOSS_NAMES)}")
        self.loss_weights = {k: float(v) for k, v in weights.items()}
        self.guided_attention = guided_attention_settings(config, self.loss_weights["guided_attention"],
                                                          self.model.cfg.heads)
        self.grad_clip = float(config.get("grad_clip", 1.0))
        self.patch_input_noise = input_noise_share(config, "patch_input_noise")
        self.level_restricted = config.get("level_restricted_loss", False)
        if not isinstance(self.level_restricted, bool):
            raise UserError(f"config level_restricted_loss: true or false, got {self.level_restricted!r}")
        self.build_optimizer([torch.nn.Parameter(torch.zeros(1, device="cpu"))])  # bad optim settings fail now
        self._val: dict[str, torch.Tensor] = {}

    def configure_optimizers(self):
        optimizer, scheduler = self.build_optimizer(self.model.parameters())
        return [optimizer], [{"scheduler": scheduler, "interval": "step"}]

    def states(self, batch: dict[str, torch.Tensor], train: bool,
               cross_weights: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Teacher-forced local decoder outputs (B, S, P, D) of a batch (training draws the conditioning dropout and
        the patch input noise); `cross_weights` receives the cross-attention probabilities."""
        rows = batch["patches"].shape[0]
        drop = torch.rand(rows, device=self.device) < self.model.cfg.cond_dropout if train else None
        noisy = None
        if train and self.patch_input_noise:
            noisy = corrupt_patch_inputs(batch["patches"], batch["targets"], self.patch_input_noise)
        states, _ = self.model.forward_states(batch["text"], batch["text_mask"], batch["speaker"], batch["patches"],
                                              drop=drop, global_patches=noisy, cross_weights=cross_weights)
        return states

    def scores(self, batch: dict[str, torch.Tensor], train: bool,
               cross_weights: list[torch.Tensor] | None = None) -> BatchScores:
        """The batch's CE, hits and flux inputs, over the whole head or (level_restricted_loss) the level rows."""
        states, targets = self.states(batch, train, cross_weights), batch["targets"]
        if self.level_restricted:
            cfg = self.model.cfg
            levels = level_scores(states, self.model.head.weight, targets, cfg.levels, cfg.codebook_size)
            return BatchScores(level_cross_entropy(levels), level_hits(levels), levels.logits[0], levels.targets[0])
        logits = self.model.head(states)
        ce = F.cross_entropy(logits.flatten(0, 2).float(), targets.reshape(-1), ignore_index=IGNORE, reduction="sum")
        return BatchScores(ce, logits.argmax(-1) == targets, logits, targets)

    def training_step(self, steps: list[dict[str, Any]], batch_idx: int) -> None:
        count = sum(int((b["targets"] != IGNORE).sum()) for b in steps)
        self.optimizers().zero_grad(set_to_none=True)
        totals = {k: torch.zeros((), device=self.device) for k in ("loss", *LOSS_NAMES)}
        for i, batch in enumerate(steps):
            with micro_batch_sync(self, last=i == len(steps) - 1):
                attention = [] if self.loss_weights["guided_attention"] else None
                scores = self.scores(batch, train=True, cross_weights=attention)
                parts = {"ce": scores.ce_sum / max(count, 1)}
                if self.loss_weights["flux"]:
                    parts["flux"] = flux_loss(scores.l0_logits, scores.l0_targets) / len(steps)
                if attention is not None:
                    patch_mask = (batch["targets"] != IGNORE).all(dim=-1)
                    parts["guided_attention"] = guided_attention_loss(
                        attention, batch["text_mask"], patch_mask, **self.guided_attention) / len(steps)
                loss = sum(self.loss_weights[k] * v for k, v in parts.items())
                self.manual_backward(loss)
            totals["loss"] += loss.detach()
            for k, v in parts.items():
                totals[k] += v.detach()
        metrics = {**{f"train/{k}": v for k, v in totals.items()}, "train/tokens": float(count)}
        finish_step(self, self.model.parameters(), totals["loss"], metrics, batch_size=len(steps))

    def on_validation_epoch_start(self) -> None:
        self._val = {}

    def validation_step(self, steps: list[dict[str, Any]], batch_idx: int) -> None:
        for batch in steps:
            attention: list[torch.Tensor] = []
            scores, targets = self.scores(batch, train=False, cross_weights=attention), batch["targets"]
            valid, hit, ce = targets != IGNORE, scores.hits, scores.ce_sum
            off_diagonal, rows = guided_attention_sums(attention, batch["text_mask"], valid.all(-1),
                                                       **self.guided_attention)
            for key, value in (("loss_sum", ce), ("tokens", valid.sum()), ("hits", (hit & valid).sum()),
                               ("l0_hits", (hit & valid)[..., 0].sum()), ("l0_tokens", valid[..., 0].sum()),
                               ("attention_sum", off_diagonal), ("attention_rows", rows)):
                self._val[key] = self._val.get(key, torch.zeros((), device=self.device, dtype=torch.float64)) + value

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or not self._val:
            return
        keys = sorted(self._val)
        sums = dict(zip(keys, self.trainer.strategy.reduce(torch.stack([self._val[k] for k in keys]),
                                                             reduce_op="sum").tolist()))
        tokens = max(sums["tokens"], 1.0)
        metrics = {"val/loss": sums["loss_sum"] / tokens, "val/acc": sums["hits"] / tokens,
                   "val/acc_l0": sums["l0_hits"] / max(sums["l0_tokens"], 1.0),
                   "val/guided_attention": sums["attention_sum"] / max(sums["attention_rows"], 1.0)}
        self.log_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in metrics.items()}, rank_zero_only=True)

    def export(self, model_dir: str | Path) -> None:
        """Write the model dir that inference loads (config.yaml, weights, tokenizer)."""
        save_model_dir(self.model, self.config, self.config["tokenizer_dir"], model_dir)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        save_rng_states(checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        load_rng_states(checkpoint)


def with_init_model(config: dict[str, Any]) -> dict[str, Any]:
    """`config`, or with `init_llm_dir` the config fine-tuning that model dir (its tokenizer and architecture)."""
    return fine_tuning_config(config, config["init_llm_dir"]) if config.get("init_llm_dir") else config


def build_mars6_datamodule(config: dict[str, Any], train_data: str | Path, valid_data: str | Path | None,
                           codes_dir: str | Path | None = None, xvector_dir: str | Path | None = None,
                           attr_dir: str | Path | None = None):
    """The data module of MARS6: tokens from `<codes_dir>/<set>/` (stage 6), x-vectors from
    `<xvector_dir>/<set>/xvector.scp` (stage 3; default: `--attr_dir`, else the data dir itself)."""
    from tts_codec.data.lm_dataset import UtteranceRecords
    from tts_codec.data.table import read_table
    from tts_codec.lm.mars6.examples import Mars6Dataset
    from tts_codec.train.lm.mars6_data import Mars6DataModule

    if codes_dir is None:
        raise UserError("--codes_dir is required: the stage-6 token dir (e.g. dump/codes/<codec tag>)")
    config = with_init_model(config)
    data = dict(config.get("data") or {})
    text = Mars6Text.load(require(config, "tokenizer_dir"))
    cfg = model_config(config, text)
    xroot = xvector_dir or attr_dir

    def dataset(path: str | Path, prompt_pairs: float = 0.0) -> Mars6Dataset:
        records = UtteranceRecords(path, set_dir(codes_dir, path, "--codes_dir"))
        where = set_dir(xroot, path, "--xvector_dir") if xroot else Path(path)
        utt2spk = read_table(Path(path) / "utt2spk") if prompt_pairs else {}  # a data dir has one (DataDir)
        return Mars6Dataset(records, text, cfg, where, int(data.get("quality", 48000)), data.get("max_patches"),
                            prompt_pairs, utt2spk, int(config.get("seed", 0)))

    prompt_pairs = data.get("prompt_pairs", 0.0)
    if isinstance(prompt_pairs, bool) or not isinstance(prompt_pairs, (int, float)) or not 0 <= prompt_pairs <= 1:
        raise UserError(f"config data.prompt_pairs: {prompt_pairs!r}; the fraction of training examples laid out as "
                        "a deep clone (0 to 1)")
    return Mars6DataModule(  # validation stays single utterances, comparable across runs
        dataset(train_data, float(prompt_pairs)), dataset(valid_data) if valid_data else None,
        max_tokens=int(require(config, "data.max_patches_per_batch")),
        accumulate=int(data.get("accumulate_grad_batches", 1)), pad_id=cfg.eos_id, seed=int(config.get("seed", 0)),
        valid_max_tokens=data.get("valid_max_patches_per_batch"), num_workers=int(data.get("num_workers", 0)),
        bucket_size=int(data.get("bucket_size", 1000)),
    )
