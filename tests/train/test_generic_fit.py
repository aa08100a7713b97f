"""The generic `fit` with a task that is not a GAN: a toy one-optimiser LM trains through the same trainer builder
(exact step counting, periodic checkpoints, export, exact resume) without touching GAN code."""
import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from tts_codec.data.samplers import ResumableStreamSampler, SampleKey
from tts_codec.train.trainer import CHECKPOINT_DIR, LAST, fit

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
