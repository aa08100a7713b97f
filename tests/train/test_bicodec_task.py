"""BiCodec GAN training on the tiny config: losses and logs, mel-loss decrease, exact resume."""
import math

import pytest
import torch

from tts_codec.errors import UserError
from tts_codec.train.registry import fit_from_config
from tts_codec.train.trainer import CHECKPOINT_DIR, LAST


def test_first_batches_log_namespaced_losses_and_switch_to_d_vector(tmp_path, corpus, tiny_config, recorder_cls):
    tiny_config["d_vector_train_start"] = 1  # batches 0 and 1 use the x-vector
    recorder = recorder_cls()
    task = fit_from_config(tiny_config, tmp_path / "exp", corpus[0], None, max_steps=3, callbacks=[recorder])
    metrics = task.trainer.callback_metrics
    for name in ("gen/mel", "gen/adv", "gen/feat", "gen/commit", "gen/codebook", "gen/ssl_recon", "gen/total",
                 "gen/grad_norm", "disc/loss", "disc/grad_norm", "lr/gen", "lr/disc", "codebook/perplexity",
                 "codebook/used_share", "codebook/active_codes", "gen/speaker", "use_d_vector"):
        assert math.isfinite(float(metrics[f"train/{name}"])), name
    assert float(metrics["train/use_d_vector"]) == 1.0
    assert task.batches_done == 3 and task.trainer.global_step == 6
    assert len(recorder.mel) == 3 and all(len(u) == 4 for u in recorder.utts)  # batch 4
    # Learning rate follows WarmupLR (warm-up 5 from 1e-4 to 1e-3), stepped once per batch.
    sched = tiny_config["scheduler_conf"]  # quadratic warm-up: after 2 of its batches
    expected = sched["init_lr"] + (sched["max_lr"] - sched["init_lr"]) * (2 / sched["warmup_steps"]) ** 2
    assert float(metrics["train/lr/gen"]) == pytest.approx(expected)


def test_unknown_loss_weight_is_named(tmp_path, corpus, tiny_config):
    tiny_config["loss_weights"]["mell"] = 1.0
    with pytest.raises(UserError, match="loss_weights: unknown term.*'mell'"):
        fit_from_config(tiny_config, tmp_path / "exp", corpus[0], None, max_steps=1)


@pytest.mark.slow
def test_tiny_training_lowers_the_mel_loss(tmp_path, corpus, tiny_config, recorder_cls):
    recorder = recorder_cls()
    fit_from_config(tiny_config, tmp_path / "exp", corpus[0], corpus[1], max_steps=40, callbacks=[recorder])
    start, end = sum(recorder.mel[:5]) / 5, sum(recorder.mel[-5:]) / 5
    print(f"mel loss: first 5 batches {start:.3f}, last 5 batches {end:.3f}")
    assert end < 0.85 * start


def _load(path):
    return torch.load(path, map_location="cpu", weights_only=False)


def _assert_same(a, b, where="checkpoint"):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif hasattr(a, "shape"):  # numpy
        assert (a == b).all(), where
    else:
        assert a == b, where


def test_exact_resume(tmp_path, corpus, tiny_config, recorder_cls):
    """N batches in one go == N/2 batches, stop, resume for N/2 more: same weights, optimisers, schedulers, data."""
    train, dev = corpus
    tiny_config["d_vector_train_start"] = 2  # the switch happens in the second half
    tiny_config["trainer"].update(checkpoint_every_n_steps=3, val_check_interval=2, limit_val_batches=1)
    whole = recorder_cls()
    fit_from_config(tiny_config, tmp_path / "whole", train, dev, max_steps=6, callbacks=[whole])
    first, second = recorder_cls(), recorder_cls()
    fit_from_config(tiny_config, tmp_path / "split", train, dev, max_steps=3, callbacks=[first])
    task = fit_from_config(tiny_config, tmp_path / "split", train, dev, max_steps=6, callbacks=[second])
    assert task.batches_done == 6

    a, b = (_load(tmp_path / run / CHECKPOINT_DIR / LAST) for run in ("whole", "split"))
    assert a["global_step"] == b["global_step"] == 12
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for name, tensor in a["state_dict"].items():
        assert torch.equal(tensor, b["state_dict"][name]), name
    _assert_same(a["optimizer_states"], b["optimizer_states"], "optimizer_states")
    _assert_same(a["lr_schedulers"], b["lr_schedulers"], "lr_schedulers")
    _assert_same(a["rng_states"], b["rng_states"], "rng_states")
    assert whole.utts == first.utts + second.utts  # data order
    for x, y in zip(whole.heads, first.heads + second.heads):  # and the random crops
        assert torch.equal(x, y)
    assert whole.mel == first.mel + second.mel
    assert whole.draws == first.draws + second.draws  # global RNG stream continues across the resume
