"""Dead-code restart: which codes count as dead, where they move, the per-batch cap, determinism and resume, the
config errors, the SNAC task's wiring, and identical codebooks across DDP ranks (gloo, 2 processes)."""
import math
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tts_codec.config import load_config
from tts_codec.errors import UserError
from tts_codec.train.dead_codes import DeadCodeRestart, RestartConfig
from tts_codec.train.registry import fit_from_config
from tts_codec.train.trainer import CHECKPOINT_DIR, LAST

TINY = Path(__file__).resolve().parents[2] / "conf" / "train" / "snac_tiny.yaml"


def _batch(codes: list[int], dim: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes (1, T) and latents (1, dim, T) with distinct random columns."""
    gen = torch.Generator().manual_seed(seed)
    return torch.tensor([codes]), torch.randn(1, dim, len(codes), generator=gen)


def _is_column_of(row: torch.Tensor, latents: torch.Tensor) -> bool:
    return any(torch.equal(row, latents[0, :, t]) for t in range(latents.shape[-1]))


def test_only_codes_unused_for_patience_batches_move_onto_batch_latents():
    restart = DeadCodeRestart(RestartConfig(patience=3, max_share=1.0), [6])
    codebook = torch.arange(18.0).reshape(6, 3)
    before = codebook.clone()
    for batch in range(3):  # codes 0 and 1 in use; 2..5 never used but not yet 3 batches old
        codes, z = _batch([0, 1, 0, 1], seed=batch)
        assert restart.step(batch, [codebook], [codes], [z]) == [0]
    assert torch.equal(codebook, before)
    codes, z = _batch([0, 0, 1, 1], seed=3)
    assert restart.step(3, [codebook], [codes], [z]) == [4]  # codes 2..5: last use 0, now 3 batches without
    assert torch.equal(codebook[:2], before[:2])
    assert all(_is_column_of(codebook[i], z) for i in range(2, 6))
    assert len({tuple(codebook[i].tolist()) for i in range(2, 6)}) == 4  # distinct latents, no duplicates
    assert torch.equal(restart.last_used(0), torch.tensor([3, 3, 3, 3, 3, 3]))


def test_restarts_are_capped_by_share_and_by_the_batch_latents():
    restart = DeadCodeRestart(RestartConfig(patience=1, max_share=0.25), [16])
    codebook = torch.zeros(16, 2)
    codes, z = _batch([0] * 10, dim=2)
    assert restart.step(1, [codebook], [codes], [z]) == [4]  # 15 dead, a quarter of 16 allowed
    few = DeadCodeRestart(RestartConfig(patience=1, max_share=1.0), [16])
    codes, z = _batch([0, 0], dim=2)
    assert few.step(1, [torch.zeros(16, 2)], [codes], [z]) == [2]  # only two latents to move onto


def test_the_same_seed_restarts_the_same_and_the_ages_survive_a_state_dict_round_trip():
    runs = []
    for _ in range(2):
        restart = DeadCodeRestart(RestartConfig(patience=2, max_share=1.0), [8, 5], seed=7)
        books = [torch.zeros(8, 3), torch.zeros(5, 3)]
        for batch in range(4):
            codes = [torch.tensor([[batch % 2]]), torch.tensor([[0, 1]])]
            lat = [torch.randn(1, 3, 1, generator=torch.Generator().manual_seed(batch)),
                   torch.randn(1, 3, 2, generator=torch.Generator().manual_seed(10 + batch))]
            restart.step(batch, books, codes, lat)
        runs.append((books, restart.state_dict()))
    (a, state), (b, _) = runs
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert any(x.abs().sum() > 0 for x in a)
    fresh = DeadCodeRestart(RestartConfig(patience=2), [8, 5], seed=7)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.last_used(0), state["last_used_0"]) and fresh.last_used(0).max() == 3


def test_mismatched_levels_are_refused():
    restart = DeadCodeRestart(RestartConfig(patience=2), [4, 4])
    codes, z = _batch([0])
    with pytest.raises(ValueError, match="expected 2 levels"):
        restart.step(0, [torch.zeros(4, 3)], [codes], [z])


@pytest.mark.parametrize("section, match", [
    ("often", "dead_code_restart: expected a mapping"),
    ({}, "dead_code_restart.patience"),
    ({"patience": 0}, "dead_code_restart.patience"),
    ({"patience": True}, "dead_code_restart.patience"),
    ({"patience": "300"}, "dead_code_restart.patience"),
    ({"patience": 3, "max_share": 0}, "dead_code_restart.max_share"),
    ({"patience": 3, "max_share": 1.5}, "dead_code_restart.max_share"),
    ({"patience": 3, "threshold": 2}, r"unknown key\(s\) \['threshold'\]"),
])
def test_config_errors_name_the_key(section, match):
    with pytest.raises(UserError, match=match):
        RestartConfig.from_section(section)


def test_snac_training_restarts_codes_and_checkpoints_their_ages(tmp_path, corpus):
    """patience 1 on the tiny SNAC, three batches (a batch's restarts are logged with the next one): its codebooks
    differ from a run without the section, the counts are logged, the ages are in the checkpoint, and the exported
    model has none of them."""
    from tts_codec.codecs.snac import SNACCodec

    torch.set_num_threads(1)
    cfg = load_config(TINY)
    cfg["data"]["batch_size"] = 2
    cfg["trainer"].update(val_check_interval=100, log_every_n_steps=1)
    plain = fit_from_config(cfg, tmp_path / "plain", corpus[0], None, max_steps=3)
    cfg["dead_code_restart"] = {"patience": 1, "max_share": 1.0}
    task = fit_from_config(cfg, tmp_path / "restart", corpus[0], None, max_steps=3)
    metrics = task.trainer.callback_metrics
    assert float(metrics["train/codebook/l0/restarted"]) > 0 and math.isfinite(float(metrics["train/gen/mel"]))
    ckpt = torch.load(tmp_path / "restart" / CHECKPOINT_DIR / LAST, map_location="cpu", weights_only=False)
    ages = ckpt["state_dict"]["dead_codes.last_used_0"]
    assert ages.max() == 2 and (ages == 2).sum() > 0
    moved = [(vq.codebook.weight - ref.codebook.weight).abs().sum(1) > 0 for vq, ref in
             zip(task.generator.model.quantizer.quantizers, plain.generator.model.quantizer.quantizers)]
    assert any(m.any() for m in moved)
    task.export(tmp_path / "model")
    assert not any("dead_codes" in k for k in SNACCodec.from_pretrained(tmp_path / "model").state_dict())


def _ddp_worker(rank: int, world: int, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        restart = DeadCodeRestart(RestartConfig(patience=1, max_share=1.0), [12], seed=3)
        codebook = torch.zeros(12, 4)
        gen = torch.Generator().manual_seed(100 + rank)  # each rank sees other data
        for batch in range(3):
            codes = torch.randint(0, 12, (1, 3), generator=gen)
            restart.step(batch, [codebook], [codes], [torch.randn(1, 4, 3, generator=gen)])
        torch.save({"codebook": codebook, "ages": restart.last_used(0)}, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_ranks_keep_identical_codebooks_under_ddp(tmp_path):
    world = 2
    mp.spawn(_ddp_worker, args=(world, str(tmp_path / "init"), str(tmp_path / "out")), nprocs=world)
    a, b = (torch.load(tmp_path / f"out.{r}") for r in range(world))
    assert torch.equal(a["codebook"], b["codebook"]) and torch.equal(a["ages"], b["ages"])
    assert a["codebook"].abs().sum() > 0
