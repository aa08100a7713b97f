"""MARS6 training: the task trains through the generic `fit` (TensorBoard, export of a loadable model dir), a
resumed run is exact, and the anti-repetition and ORPO losses match hand-computed values."""
from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from tts_codec.config import load_config
from tts_codec.data.lm_dataset import IGNORE
from tts_codec.errors import UserError
from tts_codec.testing.mars6 import make_mars6_corpus, make_mars6_tokenizer
from tts_codec.testing.training_state import assert_same_training_state

REPO = Path(__file__).resolve().parents[2]
CODES = 32  # a small codebook keeps the embeddings small: a step takes well under a second


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("mars6")
    tok = make_mars6_tokenizer(root / "tok")
    train, codes, xvec = make_mars6_corpus(root, "train", 8, codebook_size=CODES)
    dev, _, _ = make_mars6_corpus(root, "dev", 2, seed=1, codebook_size=CODES)
    return tok, train, dev, codes, xvec


def tiny_config(tok, **trainer) -> dict:
    config = load_config(REPO / "egs" / "mini" / "tts1" / "conf" / "mars6_tiny.yaml")
    config["tokenizer_dir"] = str(tok)
    config["lm_conf"].update({"dim": 32, "ffn": 64, "codebook_size": CODES})
    config["loss_weights"] = {"ce": 1.0, "flux": 0.5}
    config["data"].update({"max_patches_per_batch": 30, "valid_max_patches_per_batch": 60})
    config["trainer"].update({"val_check_interval": 3, "limit_val_batches": 1, "log_every_n_steps": 1,
                              "checkpoint_every_n_steps": 3, **trainer})
    return config


class Order(L.Callback):
    def __init__(self):
        self.steps = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        """The step's data (micro-batches, or the chosen/rejected batches of ORPO) and one draw of the global RNG
        (as conditioning dropout makes), so an exact resume must restore both."""
        batches = batch.values() if isinstance(batch, dict) else batch
        self.steps.append([b["patches"].sum().item() for b in batches] + [torch.rand(1).item()])


def run(config, setup, output_dir, callbacks=()):
    from tts_codec.train.registry import fit_from_config

    tok, train, dev, codes, xvec = setup
    return fit_from_config(config, output_dir, train, dev, callbacks=callbacks, codes_dir=codes, xvector_dir=xvec)


def test_trains_logs_and_exports_a_loadable_model(setup, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tts_codec.lm.mars6.model_dir import load_model_dir

    task = run(tiny_config(setup[0], max_steps=6), setup, tmp_path / "exp")
    assert task.trainer.global_step == 6
    events = EventAccumulator(str(tmp_path / "exp" / "tensorboard")).Reload()
    assert {"train/loss", "train/ce", "train/flux", "train/guided_attention", "val/loss", "val/acc", "val/acc_l0",
            "val/guided_attention"} <= set(events.Tags()["scalars"])
    assert all(0 < e.value < 1 for e in events.Scalars("val/guided_attention"))  # logged with the term off
    model, text, _ = load_model_dir(tmp_path / "exp" / "model")
    for name, tensor in task.model.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name
    assert text.encode("a b") == task.text.encode("a b")


def test_resume_is_exact(setup, tmp_path):
    whole_order, first_order, second_order = Order(), Order(), Order()
    whole = run(tiny_config(setup[0], max_steps=6), setup, tmp_path / "whole", [whole_order])
    run(tiny_config(setup[0], max_steps=3), setup, tmp_path / "split", [first_order])
    second = run(tiny_config(setup[0], max_steps=6), setup, tmp_path / "split", [second_order])
    assert whole_order.steps == first_order.steps + second_order.steps
    assert_same_training_state(whole, second)


def test_resume_on_the_tokens_of_another_codec_is_refused(setup, tmp_path):
    """A run records which codec made its training tokens; resuming it on tokens of other weights (a new codec
    under the same codes dir or experiment name) is a UserError naming the field, and --overwrite starts again."""
    import json
    import shutil

    from tts_codec.train.registry import fit_from_config

    tok, train, dev, codes, xvec = setup
    run(tiny_config(tok, max_steps=3), setup, tmp_path / "exp")
    recorded = json.loads((tmp_path / "exp" / "data_identity.json").read_text())
    assert recorded["codes"]["codec"] == "snac" and recorded["codes"]["config_hash"]
    assert recorded["codes"]["weights_hash"] is None  # the synthetic tokens name no weights
    other = tmp_path / "codes"
    shutil.copytree(codes, other)
    info_path = other / Path(train).name / "codes_info.json"
    info = json.loads(info_path.read_text())
    info["weights_hash"] = "0123456789abcdef"
    info_path.write_text(json.dumps(info))
    with pytest.raises(UserError, match=r"trained on other tokens \(codes.weights_hash None, now '0123456789abcdef'\)"):
        fit_from_config(tiny_config(tok, max_steps=6), tmp_path / "exp", train, dev, codes_dir=other,
                        xvector_dir=xvec)
    task = fit_from_config(tiny_config(tok, max_steps=2), tmp_path / "exp", train, dev, codes_dir=other,
                           xvector_dir=xvec, resume=False, overwrite=True)
    assert task.trainer.global_step == 2
    assert json.loads((tmp_path / "exp" / "data_identity.json").read_text())["codes"]["weights_hash"] == \
        "0123456789abcdef"
    run(tiny_config(tok, max_steps=3), setup, tmp_path / "exp2")  # the same tokens resume as before
    assert run(tiny_config(tok, max_steps=4), setup, tmp_path / "exp2").trainer.global_step == 4


def test_flux_loss_is_the_mass_on_the_previous_coarse_code():
    from tts_codec.train.lm.mars6_task import flux_loss

    logits = torch.full((1, 3, 7, 5), -1e9)
    logits[0, 1, 0, :2] = 0.0  # patch 1: p = 1/2 on codes 0 and 1
    logits[0, 2, 0, :] = 0.0  # patch 2: uniform, 1/5 each
    targets = torch.full((1, 3, 7), IGNORE)
    targets[0, :, 0] = torch.tensor([0, 1, 1])  # the data moved 0 -> 1, then repeated 1 (not penalised)
    assert flux_loss(logits, targets).item() == pytest.approx(0.5)
    targets[0, :, 0] = torch.tensor([0, 1, 3])
    assert flux_loss(logits, targets).item() == pytest.approx((0.5 + 0.2) / 2)


def test_orpo_loss_matches_a_hand_computed_value():
    from tts_codec.train.lm.orpo import orpo_loss

    chosen_lp, rejected_lp = torch.tensor([math.log(0.5)]), torch.tensor([math.log(0.2)])
    chosen_nll = torch.tensor([0.7])
    loss, parts = orpo_loss(chosen_nll, chosen_lp, rejected_lp, lam=0.1)
    odds_w, odds_l = 0.5 / 0.5, 0.2 / 0.8  # odds = P / (1 - P)
    ratio = -math.log(1 / (1 + math.exp(-(math.log(odds_w) - math.log(odds_l)))))
    assert parts["odds_ratio"].item() == pytest.approx(ratio, rel=1e-5)
    assert loss.item() == pytest.approx(0.7 + 0.1 * ratio, rel=1e-5)


def test_bad_loss_weights_name_the_key(setup):
    from tts_codec.train.lm.mars6_task import Mars6Task

    config = tiny_config(setup[0])
    config["loss_weights"] = {"fluxx": 1.0}
    with pytest.raises(UserError, match="loss_weights: unknown"):
        Mars6Task(config)


def orpo_run(setup, root: Path, num_pairs: int) -> tuple[dict, Path]:
    """A freshly initialised tiny model dir and `num_pairs` random preference pairs under `root`: (the ORPO config
    with 2 pairs per step, the pairs file)."""
    from tts_codec.lm.mars6.examples import Mars6Example
    from tts_codec.lm.mars6.model import Mars6
    from tts_codec.lm.mars6.model_dir import model_config, save_model_dir
    from tts_codec.lm.mars6.text import Mars6Text
    from tts_codec.tts.mars6_preference import load_pairs, save_pairs

    tok = setup[0]
    config = tiny_config(tok)
    text = Mars6Text.load(tok)
    torch.manual_seed(0)
    save_model_dir(Mars6(model_config(config, text)), config, tok, root / "lm")
    rng = np.random.default_rng(0)
    pairs = []
    for i in range(num_pairs):
        ids = np.asarray(text.encode(f"pair number {i}"))
        speaker = rng.standard_normal(256).astype(np.float32)
        good, bad = (np.hstack([rng.integers(k * CODES, (k + 1) * CODES, (5, n)) for k, n in enumerate((1, 2, 4))])
                     for _ in range(2))
        eos = np.full((1, 7), 3 * CODES)
        pairs.append(tuple(Mars6Example(ids, np.vstack([p, eos]), speaker) for p in (good, bad)))
    save_pairs(pairs, root / "pairs.pt")
    assert len(load_pairs(root / "pairs.pt")) == num_pairs
    orpo = {**load_config(root / "lm" / "config.yaml"), "task": "mars6_orpo", "init_lm_dir": str(root / "lm"),
            "data": {"batch_size": 2}}
    orpo["trainer"].update({"val_check_interval": 2, "checkpoint_every_n_steps": 2})
    return orpo, root / "pairs.pt"


def test_orpo_fine_tuning_trains_on_pairs_and_exports(setup, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tts_codec.lm.mars6.model_dir import load_model_dir
    from tts_codec.train.registry import fit_from_config

    orpo, pairs = orpo_run(setup, tmp_path, 4)
    task = fit_from_config(orpo, tmp_path / "orpo", pairs, None, max_steps=2)
    assert task.trainer.global_step == 2
    tags = set(EventAccumulator(str(tmp_path / "orpo" / "tensorboard")).Reload().Tags()["scalars"])
    assert {"train/nll", "train/odds_ratio", "train/pref_acc"} <= tags
    model, _, _ = load_model_dir(tmp_path / "orpo" / "model")
    for name, tensor in task.model.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name


def test_orpo_resume_is_exact(setup, tmp_path):
    from tts_codec.train.registry import fit_from_config

    orpo, pairs = orpo_run(setup, tmp_path, 5)  # 3 steps of 2 + 2 + 1 pairs per data epoch: stop mid epoch
    whole_order, first_order, second_order = Order(), Order(), Order()
    whole = fit_from_config(orpo, tmp_path / "whole", pairs, None, max_steps=5, callbacks=[whole_order])
    fit_from_config(orpo, tmp_path / "split", pairs, None, max_steps=2, callbacks=[first_order])
    second = fit_from_config(orpo, tmp_path / "split", pairs, None, max_steps=5, callbacks=[second_order])
    assert len(whole_order.steps) == 5
    assert whole_order.steps == first_order.steps + second_order.steps
    assert_same_training_state(whole, second)


def test_patch_input_noise_replaces_whole_real_patches_by_batch_patches():
    from tts_codec.train.lm.mars6_task import corrupt_patch_inputs

    torch.manual_seed(0)
    patches = torch.arange(2 * 300 * 7).view(2, 300, 7)  # every patch distinct
    targets = patches.clone()
    targets[1, 200:] = IGNORE  # row 1 is padded after 200 patches
    out = corrupt_patch_inputs(patches, targets, 0.5)
    assert out is not patches and torch.equal(patches, torch.arange(2 * 300 * 7).view(2, 300, 7))
    assert torch.equal(out[1, 200:], patches[1, 200:])  # padding untouched
    real = patches[(targets != IGNORE).all(-1)]
    for row in out[(targets != IGNORE).all(-1)]:  # whole patches, each one of the batch's real patches
        assert (real == row).all(-1).any()
    changed = (out != patches).any(-1).float().sum().item() / 500
    assert 0.42 < changed < 0.58  # half drawn again, almost all to another patch (3.5 sigma)
    assert torch.equal(corrupt_patch_inputs(patches, targets, 0.0), patches)


@pytest.mark.parametrize("value", [-0.1, 1.0, "0.3", True])
def test_patch_input_noise_setting_is_checked(setup, value):
    from tts_codec.train.lm.mars6_task import Mars6Task

    with pytest.raises(UserError, match="patch_input_noise: a probability in \\[0, 1\\)"):
        Mars6Task({**tiny_config(setup[0]), "patch_input_noise": value})


def test_training_with_patch_input_noise_changes_what_the_model_sees(setup, tmp_path):
    """Same data and seed: after 2 steps the noisy run's weights differ from the clean run's."""
    clean = run(tiny_config(setup[0], max_steps=2), setup, tmp_path / "clean")
    noisy = run({**tiny_config(setup[0], max_steps=2), "patch_input_noise": 0.3}, setup, tmp_path / "noisy")
    assert noisy.trainer.global_step == 2
    weights = zip(clean.model.state_dict().values(), noisy.model.state_dict().values())
    assert not all(torch.equal(a, b) for a, b in weights)


def _model_dir(setup, path: Path, quantized: bool = False) -> Path:
    """A tiny MARS6 model dir with seeded random weights (int8 rows as `pack_model --weights_dtype int8` with
    `quantized`)."""
    from tts_codec.data.safetensors_file import save_safetensors
    from tts_codec.lm.mars6.model import Mars6
    from tts_codec.lm.mars6.model_dir import WEIGHTS, model_config, save_model_dir
    from tts_codec.lm.mars6.text import Mars6Text
    from tts_codec.nn.int8_storage import quantize_state

    tok = setup[0]
    config = tiny_config(tok)
    torch.manual_seed(3)
    model = Mars6(model_config(config, Mars6Text.load(tok)))
    save_model_dir(model, config, tok, path)
    if quantized:
        save_safetensors(quantize_state(model.state_dict(), min_elements=256), path / WEIGHTS)
    return path


@pytest.mark.parametrize("quantized", [False, True])
def test_fine_tuning_starts_from_a_model_dir_and_keeps_its_architecture(setup, tmp_path, quantized):
    from tts_codec.lm.mars6.model_dir import load_model_dir
    from tts_codec.nn.int8_storage import is_quantized
    from tts_codec.codecs.bicodec.checkpoint import read_weights

    init = _model_dir(setup, tmp_path / "init", quantized)
    assert is_quantized(read_weights(init / "model.safetensors")[0]) == quantized
    start, _, _ = load_model_dir(init)
    config = tiny_config(setup[0], max_steps=2)
    del config["tokenizer_dir"]  # the model dir's tokenizer is used
    config["lm_conf"] = {"dropout": 0.1, "cond_dropout": 0.2}  # training-only keys may change; the rest is the dir's
    config["init_llm_dir"] = str(init)
    from tts_codec.train.lm.mars6_task import Mars6Task

    for name, tensor in Mars6Task(config).model.state_dict().items():
        assert torch.equal(tensor, start.state_dict()[name]), name
    task = run(config, setup, tmp_path / "exp")
    assert task.trainer.global_step == 2
    tuned, _, saved = load_model_dir(tmp_path / "exp" / "model")
    assert saved["init_llm_dir"] == str(init) and saved["tokenizer_dir"] == str(init)
    assert (tuned.cfg.dim, tuned.cfg.dropout, tuned.cfg.cond_dropout) == (32, 0.1, 0.2)
    assert not torch.equal(tuned.head.weight, start.head.weight)  # it trained from there


def test_fine_tuning_refuses_another_architecture_tokenizer_or_a_non_model_dir(setup, tmp_path):
    from tts_codec.train.lm.mars6_task import Mars6Task

    init = _model_dir(setup, tmp_path / "init")
    config = {**tiny_config(setup[0]), "init_llm_dir": str(init)}
    assert Mars6Task(config).model.cfg.dim == 32  # the same tokenizer_dir as the model's is fine
    wider = {**config, "lm_conf": {**config["lm_conf"], "dim": 48}}
    with pytest.raises(UserError, match=r"lm_conf differs from the model's in dim \(48 against 32\)"):
        Mars6Task(wider)
    other = make_mars6_tokenizer(tmp_path / "other_tok", vocab_size=300)
    with pytest.raises(UserError, match=r"other_tok: its \S+ is not that of init_llm_dir"):
        Mars6Task({**config, "tokenizer_dir": str(other)})
    with pytest.raises(UserError, match=r"init_llm_dir .*nope: not a MARS6 model dir"):
        Mars6Task({**config, "init_llm_dir": str(tmp_path / "nope")})


def test_orpo_starts_from_an_int8_packed_fine_tuned_model_dir(setup, tmp_path):
    from tts_codec.lm.mars6.model_dir import load_model_dir
    from tts_codec.train.lm.orpo_task import Mars6OrpoTask

    init = _model_dir(setup, tmp_path / "lm", quantized=True)
    # as a fine-tuned, packed dir's config: it names the tokenizer and model it came from, gone on this machine
    orpo = {**load_config(init / "config.yaml"), "task": "mars6_orpo", "init_lm_dir": str(init),
            "tokenizer_dir": str(tmp_path / "gone" / "tok"), "init_llm_dir": str(tmp_path / "gone" / "lm")}
    start, _, _ = load_model_dir(init)
    for name, tensor in Mars6OrpoTask(orpo).model.state_dict().items():
        assert torch.equal(tensor, start.state_dict()[name]), name
