"""Spark LM training: examples of both objectives, token-bucketed resumable step streams, the task trained through
the generic `fit`, validation metrics in TensorBoard, the export as an official LLM dir, exact resume."""
from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from tts_codec.config import load_config
from tts_codec.data.lm_dataset import IGNORE, LMDataset, StepStream, UtteranceRecords, token_buckets
from tts_codec.errors import UserError
from tts_codec.lm.spark import prompts as P
from tts_codec.testing.spark_lm import make_lm_corpus, make_spark_tokenizer
from tts_codec.testing.training_state import assert_same_training_state

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    return make_spark_tokenizer(tmp_path_factory.mktemp("tok") / "spark_bpe")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("lmcorpus")
    train, codes = make_lm_corpus(root, "train", num_utts=12)
    dev, _ = make_lm_corpus(root, "dev", num_utts=4, seed=1)
    return train, dev, codes


def tiny_config(tokenizer_dir, **trainer) -> dict:
    config = load_config(REPO / "conf" / "lm" / "spark_tiny.yaml")
    config["tokenizer_dir"] = str(tokenizer_dir)
    config["data"].update({"max_tokens": 600, "valid_max_tokens": 600, "accumulate_grad_batches": 2})
    config["trainer"].update({"val_check_interval": 3, "limit_val_batches": 2, "log_every_n_steps": 1,
                              "checkpoint_every_n_steps": 3, **trainer})
    return config


def test_each_utterance_gives_both_objectives_with_loss_on_the_continuation(tokenizer_dir, corpus):
    from tts_codec.lm.spark.examples import ATTR_FILES, SparkExamples
    from tts_codec.lm.spark.vocab import SparkVocab
    from tts_codec.lm.text_tokenizer import load_tokenizer

    train, _, codes = corpus
    vocab = SparkVocab(load_tokenizer(tokenizer_dir))
    records = UtteranceRecords(train, codes / "train", None, ATTR_FILES)
    dataset = LMDataset(records, SparkExamples(vocab))
    assert dataset.kinds == {"tts": 12, "control": 9}  # every 4th utterance has gender unknown
    record = records[0]
    tts, control = SparkExamples(vocab)(record)
    prompt = P.render(P.tts_prompt(record["text"], record["global"]))
    target = P.render(P.tts_target(record["semantic"]))
    assert tts.input_ids.tolist() == vocab.tokenizer(prompt + target)["input_ids"]
    n_prompt = len(vocab.tokenizer(prompt)["input_ids"])
    assert (tts.labels[:n_prompt] == IGNORE).all()
    assert tts.labels[n_prompt:].tolist() == tts.input_ids[n_prompt:].tolist()
    assert tts.labels[-1] == vocab.eos_id and control.labels[-1] == vocab.eos_id
    control_text = vocab.tokenizer.decode(control.input_ids[control.labels != IGNORE].tolist())
    assert control_text.startswith("<|start_acoustic_token|><|pitch_value_") and "<|bicodec_global_" in control_text
    assert np.count_nonzero(control.labels != IGNORE) == 4 + 34 + len(record["semantic"]) + 2
    tts_only = LMDataset(records, SparkExamples(vocab, ["tts"]))
    short = LMDataset(records, SparkExamples(vocab, ["tts"]), max_length=int(np.median(tts_only.lengths)))
    assert set(short.kinds) == {"tts"} and 0 < len(short) < 12 and short.lengths.max() < tts_only.lengths.max()


def test_step_stream_buckets_by_tokens_resumes_and_shards():
    lengths = np.random.default_rng(0).integers(10, 200, size=50)
    stream = StepStream(lengths, max_tokens=400, accumulate=2, seed=3)
    steps = [s for s, _ in zip(iter(stream), range(40))]  # > 1 data epoch
    for step in steps:
        assert {m for m, _ in step} == {0, 1}
        for m in (0, 1):
            items = [i for mm, i in step if mm == m]
            assert len(items) * lengths[items].max() <= 400
    resumed = [s for s, _ in zip(iter(StepStream(lengths, 400, 2, seed=3, start=17)), range(23))]
    assert resumed == steps[17:]
    ranks = [[s for s, _ in zip(iter(StepStream(lengths, 400, 2, seed=3, rank=r, world_size=2)), range(3))]
             for r in (0, 1)]
    seen = [{i for step in r for _, i in step} for r in ranks]
    assert not seen[0] & seen[1]
    first_epoch = token_buckets(lengths, np.arange(50), 400, 1000)
    assert sorted(i for b in first_epoch for i in b) == list(range(50))
    with pytest.raises(UserError, match="cannot fill one step"):
        list(zip(iter(StepStream(lengths[:2], 10_000, accumulate=4)), range(1)))


def run(config, corpus, output_dir, callbacks=()):
    from tts_codec.train.lm.spark_task import SparkLMTask, build_spark_datamodule
    from tts_codec.train.trainer import fit

    train, dev, codes = corpus
    L.seed_everything(0, verbose=False)
    task = SparkLMTask(config)
    datamodule = build_spark_datamodule(config, train, dev, codes)
    return fit(task, datamodule, output_dir, callbacks=callbacks, has_validation=True)


class Order(L.Callback):
    def __init__(self):
        self.steps = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.steps.append([b["input_ids"].sum().item() for b in batch])


def test_tiny_lm_trains_logs_validation_and_exports(tokenizer_dir, corpus, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tts_codec.lm.spark.model import load_llm_dir

    task = run(tiny_config(tokenizer_dir, max_steps=6), corpus, tmp_path / "exp")
    assert task.trainer.global_step == 6
    events = EventAccumulator(str(tmp_path / "exp" / "tensorboard")).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "val/loss", "val/acc_semantic", "val/tts/loss", "val/control/acc"} <= tags
    losses = [e.value for e in events.Scalars("train/loss")]
    assert losses[-1] < losses[0]
    model, vocab = load_llm_dir(tmp_path / "exp" / "model")
    assert len(vocab) == len(task.vocab)
    for name, tensor in task.lm.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name


def test_resume_is_exact(tokenizer_dir, corpus, tmp_path):
    whole_order, first_order, second_order = Order(), Order(), Order()
    whole = run(tiny_config(tokenizer_dir, max_steps=6), corpus, tmp_path / "whole", [whole_order])
    run(tiny_config(tokenizer_dir, max_steps=3), corpus, tmp_path / "split", [first_order])
    second = run(tiny_config(tokenizer_dir, max_steps=6), corpus, tmp_path / "split", [second_order])
    assert whole_order.steps == first_order.steps + second_order.steps
    assert_same_training_state(whole, second, module="lm")


def test_noam_schedule_warms_up_decays_and_anneals():
    from tts_codec.train.schedulers import build_scheduler

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = build_scheduler("noam", opt, {"max_lr": 1e-3, "warmup_steps": 100, "anneal_steps": [400],
                                          "anneal_rate": 0.5, "min_lr": 1e-5})
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-5)  # step 0: 1/100 of the peak
    assert sched.lr_at(99) == pytest.approx(1e-3)  # peak after warmup_steps updates
    assert sched.lr_at(399) == pytest.approx(1e-3 * 0.5)  # 1/sqrt(n / warmup)
    assert sched.lr_at(400) == pytest.approx(1e-3 * (100 / 401) ** 0.5 * 0.5)  # halved after 400
    assert sched.lr_at(10**9) == 1e-5
    with pytest.raises(UserError, match="warmup_steps > 0"):
        build_scheduler("noam", opt, {"warmup_steps": 0})


def test_bf16_mixed_precision_trains(tokenizer_dir, corpus, tmp_path):
    task = run(tiny_config(tokenizer_dir, max_steps=2, precision="bf16-mixed"), corpus, tmp_path / "exp")
    assert task.trainer.global_step == 2
    assert all(torch.isfinite(p).all() for p in task.lm.parameters())


def test_semantic_input_noise_replaces_only_semantic_inputs_by_batch_tokens():
    from tts_codec.train.lm.spark_task import corrupt_semantic_inputs

    torch.manual_seed(0)
    start, size = 100, 50
    text = torch.randint(0, 100, (4, 40))
    semantic = torch.randint(start, start + 5, (4, 60))  # the batch uses only 5 of the 50 semantic ids
    ids = torch.cat([text, semantic], dim=1)
    out = corrupt_semantic_inputs(ids, start, size, 0.5)
    assert out is not ids and torch.equal(ids[:, 40:], semantic)  # a copy: the labels' tensor is never touched
    assert torch.equal(out[:, :40], text)  # text positions untouched
    changed = (out != ids)[:, 40:].float().mean().item()
    assert 0.3 < changed < 0.5  # half drawn again, 4 in 5 of those to another id
    assert set(out[:, 40:].unique().tolist()) <= set(range(start, start + 5))  # drawn from the batch's tokens
    assert torch.equal(corrupt_semantic_inputs(ids, start, size, 0.0), ids)


@pytest.mark.parametrize("key, value, message", [
    *[("semantic_input_noise", v, "semantic_input_noise: a probability in \\[0, 1\\)") for v in (-0.1, 1.0, "0.3", True)],
    *[("semantic_input_noise_decay_steps", v, "semantic_input_noise_decay_steps: a whole number of batches >= 1")
      for v in (0, 2.5, "10", True)],
])
def test_semantic_input_noise_settings_are_checked(tokenizer_dir, key, value, message):
    from tts_codec.train.lm.spark_task import SparkLMTask

    with pytest.raises(UserError, match=message):
        SparkLMTask({**tiny_config(tokenizer_dir), key: value})


def test_semantic_input_noise_decays_linearly_to_zero():
    from tts_codec.train.lm.spark_task import noise_at

    assert [noise_at(0.4, 100, b) for b in (0, 50, 100, 200)] == pytest.approx([0.4, 0.2, 0.0, 0.0])
    assert noise_at(0.4, None, 10**6) == 0.4


def test_training_with_semantic_input_noise_changes_what_the_lm_sees(tokenizer_dir, corpus, tmp_path):
    """Same data and seed: after 2 steps the noisy run's weights differ from the clean run's."""
    clean = run(tiny_config(tokenizer_dir, max_steps=2), corpus, tmp_path / "clean")
    noisy = run({**tiny_config(tokenizer_dir, max_steps=2), "semantic_input_noise": 0.3}, corpus, tmp_path / "noisy")
    assert noisy.trainer.global_step == 2
    weights = zip(clean.lm.state_dict().values(), noisy.lm.state_dict().values())
    assert not all(torch.equal(a, b) for a, b in weights)
