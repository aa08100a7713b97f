"""The generic `fit` with a task that is not a GAN: a toy one-optimiser LM trains through the same trainer builder
(exact step counting, periodic checkpoints, export, exact resume) without touching GAN code."""
import re

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tts_codec.data.samplers import ResumableStreamSampler, SampleKey
from tts_codec.errors import UserError
from tts_codec.train.averaging import average_state_dicts
from tts_codec.train.trainer import CHECKPOINT_DIR, LAST, fit, trainer_settings

VOCAB, LENGTH, ITEMS = 17, 12, 10


class TokenSequences(Dataset):
    """Fixed random token sequences, addressed by SampleKey like the codec datasets."""

    def __init__(self):
        self.tokens = torch.randint(0, VOCAB, (ITEMS, LENGTH), generator=torch.Generator().manual_seed(3))

    def __len__(self):
        return ITEMS

    def __getitem__(self, key: SampleKey):
        return key.index, self.tokens[key.index]


class TokenDataModule(L.LightningDataModule):
    """A resumable stream of batches: restarts at the task's `batches_done`."""

    def __init__(self, batch_size: int = 3):
        super().__init__()
        self.dataset, self.batch_size = TokenSequences(), batch_size

    def train_dataloader(self):
        start = self.trainer.lightning_module.batches_done * self.batch_size
        sampler = ResumableStreamSampler(ITEMS, seed=0, start=start)
        return DataLoader(self.dataset, batch_size=self.batch_size, sampler=sampler)


class ToyLM(L.LightningModule):
    """Next-token prediction with an embedding and a linear layer; one optimiser, automatic optimisation."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = config
        self.embed, self.head = nn.Embedding(VOCAB, 8), nn.Linear(8, VOCAB)
        self.seen: list[list[int]] = []

    @property
    def batches_done(self) -> int:
        return 0 if self._trainer is None else self.trainer.global_step

    def training_step(self, batch, batch_idx):
        index, tokens = batch
        self.seen.append(index.tolist())
        logits = self.head(self.embed(tokens[:, :-1]))
        loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))
        self.log("train/loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.01)

    def export(self, model_dir):
        model_dir.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), model_dir / "weights.pt")


def config(max_steps: int) -> dict:
    return {"task": "toy", "trainer": {"max_steps": max_steps, "checkpoint_every_n_steps": 2, "log_every_n_steps": 1,
                                       "num_sanity_val_steps": 0}}


def run(output_dir, max_steps: int) -> ToyLM:
    L.seed_everything(0, verbose=False)
    return fit(ToyLM(config(max_steps)), TokenDataModule(), output_dir, has_validation=False)


def test_one_optimiser_task_counts_steps_checkpoints_and_exports(tmp_path):
    task = run(tmp_path / "exp", 5)
    assert task.trainer.global_step == 5 and len(task.seen) == 5 and all(len(b) == 3 for b in task.seen)
    names = sorted(p.name for p in (tmp_path / "exp" / CHECKPOINT_DIR).glob("*.ckpt"))
    assert names == ["batch00000004.ckpt", LAST]  # every 2 batches, newest kept
    assert (tmp_path / "exp" / "model" / "weights.pt").is_file() and (tmp_path / "exp" / "config.yaml").is_file()


def test_resume_continues_exactly(tmp_path):
    whole = run(tmp_path / "whole", 6)
    first = run(tmp_path / "split", 3)
    second = run(tmp_path / "split", 6)
    assert second.trainer.global_step == 6 and whole.seen == first.seen + second.seen
    for name, tensor in whole.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[name]), name


def _weights(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]


def test_average_last_exports_the_mean_of_the_last_checkpoints(tmp_path):
    conf = config(6)
    conf["trainer"].update(keep_checkpoints=3, average_last=3)
    L.seed_everything(0, verbose=False)
    task = fit(ToyLM(conf), TokenDataModule(), tmp_path / "exp", has_validation=False)
    ckpts = tmp_path / "exp" / CHECKPOINT_DIR
    states = [_weights(ckpts / name) for name in ("batch00000002.ckpt", "batch00000004.ckpt", LAST)]
    exported = torch.load(tmp_path / "exp" / "model" / "weights.pt")
    assert set(exported) == {"embed.weight", "head.weight", "head.bias"}
    for key, value in exported.items():
        torch.testing.assert_close(value, sum(s[key] for s in states) / 3)
        assert not torch.equal(value, states[-1][key])  # the weights moved: the mean is not the last
    assert torch.equal(task.head.bias, exported["head.bias"])
    # training itself is unchanged: last.ckpt holds the trained weights, not the mean
    L.seed_everything(0, verbose=False)
    plain = run(tmp_path / "plain", 6)
    torch.testing.assert_close(_weights(tmp_path / "plain" / CHECKPOINT_DIR / LAST)["head.bias"], states[-1]["head.bias"])
    assert torch.equal(torch.load(tmp_path / "plain" / "model" / "weights.pt")["head.bias"], plain.head.bias)


@pytest.mark.parametrize("trainer_conf, message", [
    ({"average_last": 0}, "trainer.average_last: 0 is not a whole number >= 1"),
    ({"average_last": "3"}, "trainer.average_last: '3' is not a whole number"),
    ({"average_last": True}, "trainer.average_last: True is not a whole number"),
    ({"average_last": 3, "keep_checkpoints": 1}, "needs trainer.keep_checkpoints >= 2 (it is 1)"),
    ({"average_last": 3, "keep_checkpoints": 5, "max_steps": 4}, "needs 2 periodic checkpoints before the last batch, "
     "and max_steps 4 with checkpoint_every_n_steps 2 makes 1"),
])
def test_average_last_is_checked_before_training(tmp_path, trainer_conf, message):
    conf = config(6)
    conf["trainer"].update(trainer_conf)
    with pytest.raises(UserError, match=re.escape(message)):
        fit(ToyLM(conf), TokenDataModule(), tmp_path / "exp", has_validation=False)
    assert not (tmp_path / "exp" / CHECKPOINT_DIR).exists()


def test_averaging_refuses_checkpoints_of_another_model(tmp_path):
    good = {"state_dict": {"w": torch.ones(2, 2), "n": torch.tensor(3)}, "global_step": 2}
    torch.save(good, tmp_path / "a.ckpt")
    torch.save({"state_dict": {"w": torch.ones(3, 2), "n": torch.tensor(3)}}, tmp_path / "b.ckpt")
    torch.save({"state_dict": {"v": torch.ones(2, 2), "n": torch.tensor(3)}}, tmp_path / "c.ckpt")
    (tmp_path / "d.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match=r"b\.ckpt: w has shape \(3, 2\), .*a\.ckpt has \(2, 2\)"):
        average_state_dicts([tmp_path / "b.ckpt", tmp_path / "a.ckpt"])
    with pytest.raises(UserError, match=r"c\.ckpt: its weights differ from .*a\.ckpt's in names"):
        average_state_dicts([tmp_path / "c.ckpt", tmp_path / "a.ckpt"])
    with pytest.raises(UserError, match=r"d\.ckpt: not a readable training checkpoint"):
        average_state_dicts([tmp_path / "d.ckpt", tmp_path / "a.ckpt"])
    torch.save({"state_dict": {"w": torch.zeros(2, 2), "n": torch.tensor(7)}, "global_step": 1}, tmp_path / "e.ckpt")
    mean = average_state_dicts([tmp_path / "e.ckpt", tmp_path / "a.ckpt"])
    assert torch.equal(mean["w"], torch.full((2, 2), 0.5)) and mean["n"].item() == 3  # integers: the last one's


def test_average_last_names_the_dir_when_its_checkpoints_are_gone(tmp_path):
    conf = config(6)
    conf["trainer"].update(keep_checkpoints=3, average_last=3)
    L.seed_everything(0, verbose=False)
    fit(ToyLM(conf), TokenDataModule(), tmp_path / "exp", has_validation=False)
    ckpts = tmp_path / "exp" / CHECKPOINT_DIR
    (ckpts / "batch00000002.ckpt").unlink()  # a user cleaned up: one periodic checkpoint short
    with pytest.raises(UserError, match=rf"average_last 3: {re.escape(str(ckpts))} holds 1 periodic checkpoint\(s\) "
                                        r"before last\.ckpt, 2 needed"):
        fit(ToyLM(conf), TokenDataModule(), tmp_path / "exp", has_validation=False)


def test_average_last_follows_lightnings_meaning_of_keep_and_every():
    """keep_checkpoints -1 keeps every checkpoint; checkpoint_every_n_steps 0 writes none (and is fine unaveraged)."""
    assert trainer_settings({"trainer": {"checkpoint_every_n_steps": 0}})["average_last"] == 1
    assert trainer_settings({"trainer": {"keep_checkpoints": -1, "average_last": 3, "checkpoint_every_n_steps": 2,
                                         "max_steps": 6}})["average_last"] == 3
    with pytest.raises(UserError, match=r"average_last: 3 needs 2 periodic checkpoints .* checkpoint_every_n_steps 0 "
                                        r"makes 0"):
        trainer_settings({"trainer": {"keep_checkpoints": 5, "average_last": 3, "checkpoint_every_n_steps": 0}})


def test_a_run_resumed_mid_epoch_shows_its_bar_with_the_total_and_name(tmp_path):
    """Lightning skips on_train_epoch_start when it resumes mid-epoch (a run killed after a periodic checkpoint): the
    bar still knows its total and its name."""
    conf = config(6)
    conf["trainer"]["keep_checkpoints"] = 5
    L.seed_everything(0, verbose=False)
    fit(ToyLM(conf), TokenDataModule(), tmp_path / "exp", has_validation=False)
    ckpts = tmp_path / "exp" / CHECKPOINT_DIR
    (ckpts / LAST).write_bytes((ckpts / "batch00000002.ckpt").read_bytes())  # killed after batch 2 of a 4-batch epoch
    L.seed_everything(0, verbose=False)
    resumed = fit(ToyLM(conf), TokenDataModule(), tmp_path / "exp", has_validation=False)
    bar = resumed.trainer.progress_bar_callback.train_progress_bar
    assert resumed.trainer.global_step == 6 and len(resumed.seen) == 4
    assert (bar.total, bar.desc, bar.n) == (6, "train: ", 6)
