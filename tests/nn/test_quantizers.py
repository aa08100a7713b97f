"""Factorised VQ and (residual) FSQ: shapes, ranges, losses, token round trips."""
import torch

from tts_codec.nn.factorized_vq import FactorizedVectorQuantizer
from tts_codec.nn.fsq import FSQ, ResidualFSQ


def make_fvq(**kw):
    torch.manual_seed(0)
    return FactorizedVectorQuantizer(input_dim=16, codebook_size=32, codebook_dim=4, commitment=0.25,
                                     codebook_loss_weight=2.0, **kw)


def test_fvq_forward_shapes_and_losses():
    vq = make_fvq()
    z = torch.randn(3, 16, 10, requires_grad=True)
    out = vq(z)
    assert out.z_q.shape == (3, 16, 10) and out.indices.shape == (3, 10) and out.z_e.shape == (3, 4, 10)
    assert out.indices.dtype == torch.int64 and 0 <= out.indices.min() and out.indices.max() < 32
    rows = vq.codebook.weight[out.indices].transpose(1, 2)
    mse = torch.nn.functional.mse_loss(out.z_e, rows)
    torch.testing.assert_close(out.commit_loss, 0.25 * mse)
    torch.testing.assert_close(out.codebook_loss, 2.0 * mse)
    (out.z_q.sum() + out.commit_loss + out.codebook_loss).backward()
    assert z.grad is not None and vq.codebook.weight.grad.abs().sum() > 0


def test_fvq_picks_the_cosine_nearest_code_and_round_trips():
    vq = make_fvq().eval()
    z = torch.randn(2, 16, 6)
    idx = vq.tokenize(z)
    z_e = torch.nn.functional.normalize(vq.in_project(z), dim=1)
    sims = torch.einsum("bdt,kd->btk", z_e, torch.nn.functional.normalize(vq.codebook.weight, dim=1))
    assert torch.equal(idx, sims.argmax(-1))
    with torch.no_grad():
        torch.testing.assert_close(vq(z).z_q, vq.detokenize(idx))


def test_fvq_cluster_size_ema_only_in_training():
    vq = make_fvq(decay=0.5, threshold_ema_dead_code=0.1)
    vq.eval()(torch.randn(1, 16, 5))
    assert vq.cluster_size.sum() == 0 and vq.active_codes() == 0
    vq.train()(torch.randn(1, 16, 5))
    assert torch.isclose(vq.cluster_size.sum(), torch.tensor(2.5)) and vq.active_codes() >= 1


def test_fsq_codes_indices_round_trip():
    fsq = FSQ([4, 4, 3])
    assert fsq.codebook_size == 48
    codes, idx = fsq(torch.randn(2, 7, 3) * 3)
    assert idx.shape == (2, 7) and idx.dtype == torch.int64 and idx.min() >= 0 and idx.max() < 48
    torch.testing.assert_close(fsq.indices_to_codes(idx), codes)
    all_codes = fsq.indices_to_codes(torch.arange(48))
    assert len({tuple(c.tolist()) for c in all_codes}) == 48 and all_codes.abs().max() <= 1


def test_residual_fsq_shapes_and_decode():
    torch.manual_seed(0)
    rfsq = ResidualFSQ([4, 4, 4, 4, 4, 4], num_quantizers=1, dim=16)
    x = torch.randn(2, 32, 16)
    quantized, idx = rfsq(x)
    assert quantized.shape == (2, 32, 16) and idx.shape == (2, 32, 1) and idx.max() < 4096
    torch.testing.assert_close(rfsq.decode(idx), quantized)
    two = ResidualFSQ([3, 3], num_quantizers=2, dim=2)
    q2, i2 = two(torch.randn(1, 5, 2))
    assert i2.shape == (1, 5, 2)
    torch.testing.assert_close(two.decode(i2), q2)


def test_fvq_dead_code_reset_reinitialises_unused_codes_from_batch_latents():
    vq = make_fvq(threshold_ema_dead_code=0.5, dead_code_reset=True).train()
    z = torch.randn(2, 16, 5)
    before = vq.codebook.weight.detach().clone()
    out = vq(z)
    # the first batch: every code was below the threshold, so every row is now one of the batch latents
    latents = out.z_e.detach().transpose(1, 2).reshape(-1, 4)
    rows = vq.codebook.weight.detach()
    assert torch.cdist(rows, latents).min(dim=1).values.max() < 1e-3
    assert not torch.equal(rows, before)
    assert (vq.cluster_size >= 1.0 - 1e-6).all()
    frozen = rows.clone()
    vq(z)  # every code now carries twice the threshold as its count: nothing is replaced on the next batch
    assert torch.equal(vq.codebook.weight.detach(), frozen)


def test_fvq_dead_code_reset_is_off_by_default_and_in_eval():
    vq = make_fvq().train()
    before = vq.codebook.weight.detach().clone()
    vq(torch.randn(2, 16, 5))
    assert torch.equal(vq.codebook.weight.detach(), before)
    vq = make_fvq(dead_code_reset=True).eval()
    vq(torch.randn(2, 16, 5))
    assert torch.equal(vq.codebook.weight.detach(), make_fvq().codebook.weight.detach())
