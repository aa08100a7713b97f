"""Spark-TTS LM training (stage 8, bicodec_spark.md section 5.4): the Qwen2 LM on both objectives, one optimiser
(AdamW + Noam in the official recipe), gradient accumulation inside the step, loss on the labels only.

One training batch = one optimiser step = `data.accumulate_grad_batches` micro-batches; the loss is the cross
entropy summed over every label token of the step divided by their count (so long and short micro-batches weigh
per token). Validation logs `val/loss`, `val/acc` (next-token accuracy on label positions) and
`val/acc_semantic` (on positions whose target is a semantic token), also per objective (`val/tts/loss`, ...).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from tts_codec.config import require
from tts_codec.data.lm_dataset import IGNORE
from tts_codec.errors import UserError
from tts_codec.lm.spark.model import build_lm, export_llm_dir, load_llm_dir
from tts_codec.lm.spark.vocab import SparkVocab, load_spark_vocab
from tts_codec.train.lm.manual_step import finish_step, micro_batch_sync
from tts_codec.train.rng_state import load_rng_states, save_rng_states
from tts_codec.train.schedulers import build_scheduler

OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}


def tokenizer_dir_of(config: dict[str, Any]) -> Path:
    """The tokenizer of a run: `init_llm_dir` (fine-tuning an official LLM) or `tokenizer_dir` (stage 4)."""
    path = config.get("init_llm_dir") or config.get("tokenizer_dir")
    if not path:
        raise UserError("config: set tokenizer_dir (stage-4 output, --tokenizer_dir) or init_llm_dir "
                        "(an official LLM/ directory, --init_llm_dir)")
    return Path(path)


def spark_vocab_of(config: dict[str, Any]) -> SparkVocab:
    return load_spark_vocab(tokenizer_dir_of(config))


def input_noise_share(config: dict[str, Any], key: str) -> float:
    """The input-noise probability `config[key]` of an LM config: in [0, 1), 0 (the default) = off."""
    value = config.get(key, 0.0) or 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise UserError(f"config {key}: a probability in [0, 1) (0 = off), got {value!r}")
    return float(value)


def semantic_input_noise_of(config: dict[str, Any]) -> tuple[float, int | None]:
    """(`semantic_input_noise`, `semantic_input_noise_decay_steps`) of an LM config: a probability in [0, 1) (0 =
    off, the official training) and, optionally, the batch at which it has fallen linearly to 0 (None: constant)."""
    value = input_noise_share(config, "semantic_input_noise")
    decay = config.get("semantic_input_noise_decay_steps")
    if decay is not None and (isinstance(decay, bool) or not isinstance(decay, int) or decay < 1):
        raise UserError(f"config semantic_input_noise_decay_steps: a whole number of batches >= 1 or null, "
                        f"got {decay!r}")
    return value, decay


def noise_at(rate: float, decay_steps: int | None, batch: int) -> float:
    """The input-noise probability at optimiser step `batch`: `rate`, falling linearly to 0 at `decay_steps`."""
    if decay_steps is None:
        return rate
    return rate * max(0.0, 1.0 - batch / decay_steps)


def corrupt_semantic_inputs(input_ids: torch.Tensor, start: int, size: int, rate: float) -> torch.Tensor:
    """A copy of `input_ids` where each semantic token (ids start..start+size-1) is, with probability `rate`,
    replaced by a semantic token drawn from the same batch (so the corrupted inputs keep the batch's token
    distribution). Only the inputs change, never the labels: like Tacotron's always-on prenet dropout, the LM can no
    longer predict the next frame from the last few alone and has to read the text to know what is said."""
    is_semantic = (input_ids >= start) & (input_ids < start + size)
    pool = input_ids[is_semantic]
    chosen = is_semantic & (torch.rand(input_ids.shape, device=input_ids.device) < rate)
    n = int(chosen.sum())
    if n == 0:
        return input_ids
    corrupted = input_ids.clone()
    corrupted[chosen] = pool[torch.randint(len(pool), (n,), device=input_ids.device)]
    return corrupted


class SparkLMTask(L.LightningModule):
    """Train the Spark-TTS Qwen2 LM.

    Args:
        config: resolved config: lm/lm_conf (model), tokenizer_dir or init_llm_dir, optim/optim_conf,
            scheduler/scheduler_conf, grad_clip, data, semantic_input_noise (ours, 0 = off as officially:
            `corrupt_semantic_inputs` on the training inputs).
    """

    optimizer_steps_per_batch = 1

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.automatic_optimization = False
        self.config = copy.deepcopy(config)
        self.save_hyperparameters({"config": self.config})
        if config.get("init_llm_dir"):
            self.lm, self.vocab = load_llm_dir(config["init_llm_dir"])
            self.lm.train()
        else:
            self.vocab = spark_vocab_of(config)
            self.lm = build_lm(config, self.vocab)
        self.grad_clip = float(config.get("grad_clip", 1.0))
        self.semantic_input_noise, self.semantic_input_noise_decay = semantic_input_noise_of(config)
        self.build_optimizer([torch.nn.Parameter(torch.zeros(1, device="cpu"))])  # bad optim settings fail now
        self._val: dict[str, torch.Tensor] = {}

    @property
    def batches_done(self) -> int:
        """Optimiser steps done (restored on resume); 0 before a trainer is attached."""
        return 0 if self._trainer is None else self.trainer.global_step

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self):
        optimizer, scheduler = self.build_optimizer(self.lm.parameters())
        return [optimizer], [{"scheduler": scheduler, "interval": "step"}]

    def build_optimizer(self, params) -> tuple[torch.optim.Optimizer, Any]:
        """The optimiser of `optim`/`optim_conf` over `params` and its `scheduler` (absolute learning rates)."""
        name = str(self.config.get("optim", "adamw"))
        if name not in OPTIMIZERS:
            raise UserError(f"config optim: unknown optimiser {name!r}; known: {sorted(OPTIMIZERS)}")
        conf = dict(self.config.get("optim_conf") or {})
        conf.pop("lr", None)  # the scheduler sets absolute learning rates
        if "betas" in conf:
            conf["betas"] = tuple(conf["betas"])
        try:
            optimizer = OPTIMIZERS[name](params, lr=1.0, **conf)
        except (TypeError, ValueError) as err:
            raise UserError(f"config optim_conf: {err}") from None
        scheduler = build_scheduler(str(require(self.config, "scheduler")), optimizer,
                                    dict(self.config.get("scheduler_conf") or {}))
        return optimizer, scheduler

    def token_losses(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-position CE (B, T-1) and argmax predictions (B, T-1) against `labels[:, 1:]`, and those labels."""
        logits = self.lm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        logits, labels = logits[:, :-1].float(), batch["labels"][:, 1:]
        ce = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE, reduction="none")
        return ce, logits.argmax(-1), labels

    def training_step(self, steps: list[dict[str, Any]], batch_idx: int) -> None:
        count = sum(int((b["labels"][:, 1:] != IGNORE).sum()) for b in steps)
        self.optimizers().zero_grad(set_to_none=True)
        total, correct = torch.zeros((), device=self.device), torch.zeros((), device=self.device)
        noise = noise_at(self.semantic_input_noise, self.semantic_input_noise_decay, self.batches_done)
        semantic = self.vocab.ranges["bicodec_semantic"]
        for i, batch in enumerate(steps):
            if noise:
                batch = {**batch, "input_ids": corrupt_semantic_inputs(
                    batch["input_ids"], semantic.start, semantic.size, noise)}
            with micro_batch_sync(self, last=i == len(steps) - 1):
                ce, pred, labels = self.token_losses(batch)
                loss = ce.sum() / max(count, 1)
                self.manual_backward(loss)
            total += loss.detach()
            correct += ((pred == labels) & (labels != IGNORE)).sum()
        metrics = {"train/loss": total, "train/acc": correct / max(count, 1), "train/tokens": float(count)}
        if self.semantic_input_noise:
            metrics["train/semantic_input_noise"] = noise
        finish_step(self, self.lm.parameters(), total, metrics, batch_size=len(steps))

    # ------------------------------------------------------------------ validation
    def on_validation_epoch_start(self) -> None:
        self._val = {}

    def validation_step(self, steps: list[dict[str, Any]], batch_idx: int) -> None:
        semantic = self.vocab.ranges["bicodec_semantic"]
        for batch in steps:
            ce, pred, labels = self.token_losses(batch)
            valid = labels != IGNORE
            is_sem = (labels >= semantic.start) & (labels < semantic.start + semantic.size)
            hit = (pred == labels) & valid
            for row, kind in enumerate(batch["kinds"]):
                for prefix in ("", f"{kind}/"):
                    self._add(prefix + "loss_sum", ce[row][valid[row]].sum())
                    self._add(prefix + "tokens", valid[row].sum())
                    self._add(prefix + "hits", hit[row].sum())
                    self._add(prefix + "sem_hits", (hit[row] & is_sem[row]).sum())
                    self._add(prefix + "sem_tokens", is_sem[row].sum())

    def _add(self, key: str, value: torch.Tensor) -> None:
        self._val[key] = self._val.get(key, torch.zeros((), device=self.device, dtype=torch.float64)) + value.double()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        keys = sorted(self._val)
        if not keys:
            return
        sums = torch.stack([self._val[k] for k in keys])
        sums = self.trainer.strategy.reduce(sums, reduce_op="sum")
        got = dict(zip(keys, sums.tolist()))
        metrics = {}
        for prefix in sorted({k[: k.rfind("/") + 1] for k in keys}):
            tokens, sem = got[prefix + "tokens"], got[prefix + "sem_tokens"]
            if tokens:
                metrics[f"val/{prefix}loss"] = got[prefix + "loss_sum"] / tokens
                metrics[f"val/{prefix}acc"] = got[prefix + "hits"] / tokens
            if sem:
                metrics[f"val/{prefix}acc_semantic"] = got[prefix + "sem_hits"] / sem
        self.log_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in metrics.items()}, rank_zero_only=True)

    # ------------------------------------------------------------------ export and exact resume
    def export(self, model_dir: str | Path) -> None:
        """Write the LM in the official `LLM/` layout (weights, config.json, tokenizer files)."""
        export_llm_dir(self.lm, tokenizer_dir_of(self.config), model_dir, overwrite=True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        save_rng_states(checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        load_rng_states(checkpoint)


def set_dir(root: str | Path, data_dir: str | Path, what: str) -> Path:
    """`<root>/<data dir name>`: where stages 3 and 6 put the files of one set."""
    path = Path(root) / Path(data_dir).name
    if not path.is_dir():
        raise UserError(f"{what}: no {path} for data dir {data_dir}")
    return path


def build_spark_datamodule(config: dict[str, Any], train_data: str | Path, valid_data: str | Path | None,
                           codes_dir: str | Path | None = None, attr_dir: str | Path | None = None):
    """The LMDataModule of Spark-TTS: tokens from `<codes_dir>/<set>/` (stage 6), labels from `<attr_dir>/<set>/`
    (stage 3; default: the data dir itself)."""
    from tts_codec.data.lm_dataset import LMDataset, UtteranceRecords
    from tts_codec.lm.spark.examples import ATTR_FILES, SparkExamples, check_codes
    from tts_codec.train.lm.datamodule import LMDataModule

    if codes_dir is None:
        raise UserError("--codes_dir is required: the stage-6 token dir (e.g. dump/codes/<codec tag>)")
    data = dict(config.get("data") or {})
    vocab = spark_vocab_of(config)
    build = SparkExamples(vocab, data.get("objectives", ("tts", "control")))

    def dataset(path: str | Path) -> LMDataset:
        codes = set_dir(codes_dir, path, "--codes_dir")
        records = UtteranceRecords(path, codes, set_dir(attr_dir, path, "--attr_dir") if attr_dir else None,
                                   ATTR_FILES)
        check_codes(records.tokens.info, vocab, str(codes))
        return LMDataset(records, build, data.get("max_length"))

    return LMDataModule(
        dataset(train_data), dataset(valid_data) if valid_data else None,
        max_tokens=int(require(config, "data.max_tokens")),
        accumulate=int(data.get("accumulate_grad_batches", 1)), pad_id=vocab.pad_id, seed=int(config.get("seed", 0)),
        valid_max_tokens=data.get("valid_max_tokens"), num_workers=int(data.get("num_workers", 0)),
        bucket_size=int(data.get("bucket_size", 1000)),
    )
