"""The fused CPU residual unit (numba snake -> depthwise conv -> snake, then a matmul) computes the `snac` package's
ResidualUnit; a tiny SNAC prepared with fast=True decodes what the package decodes; every other case (bf16
autocast, autograd, other dtypes, channels-last) takes the torch path."""
from __future__ import annotations

import copy
import multiprocessing

import pytest
import torch
from snac.layers import ResidualUnit
from torch import nn

from tts_codec.codecs import build_codec
from tts_codec.codecs.inference import precision, prepare_for_inference
from tts_codec.codecs.snac import FastNoiseBlock
from tts_codec.nn.channels_last import use_channels_last
from tts_codec.nn.depthwise_residual import depthwise_residual
from tts_codec.nn.fast_inference import use_fast_stand_ins
from tts_codec.nn.fast_residual import ChannelsLastResidualUnit, FastResidualUnit
from tts_codec.nn.snake import CachedSnake, Snake1d, snake
from tts_codec.nn.weight_norm import remove_weight_norm
from tts_codec.testing.snac import tiny_config


def package_unit(channels: int, dilation: int, groups: int | None = None, seed: int = 0) -> ResidualUnit:
    """The package's ResidualUnit (depthwise unless `groups`) with weight norm folded and non-trivial alphas."""
    torch.manual_seed(seed)
    unit = ResidualUnit(channels, dilation=dilation, groups=channels if groups is None else groups).eval()
    with torch.no_grad():
        for module in unit.modules():
            if hasattr(module, "alpha"):
                module.alpha.uniform_(0.2, 3.0)
    remove_weight_norm(unit)
    return unit


def fast_unit(unit: ResidualUnit) -> FastResidualUnit:
    """Our unit over a copy of `unit`'s modules (its package snakes as ours, sharing nothing with `unit`)."""
    block = copy.deepcopy(unit.block)
    for i in (0, 2):
        ours = Snake1d(block[i].alpha.shape[1])
        ours.alpha = block[i].alpha
        block[i] = ours
    fast = FastResidualUnit.from_block(block)
    assert fast is not None
    return fast


@pytest.mark.parametrize("dilation", [1, 3, 9])
@pytest.mark.parametrize("batch, channels, length", [(1, 4, 1), (1, 8, 5), (2, 8, 20), (1, 16, 300), (2, 32, 2500)])
def test_fused_unit_equals_the_package_unit(dilation, batch, channels, length):
    """Lengths below the kernel span (1, 5 < 6 * dilation + 1) are all zero padding but the centre tap."""
    unit = package_unit(channels, dilation)
    fast = fast_unit(unit)
    x = torch.randn(batch, channels, length)
    with torch.inference_mode():
        assert fast.uses_kernel(x)
        out, expected = fast(x), unit(x)
    assert out.shape == expected.shape == x.shape
    assert (out - expected).abs().max() < 1e-5


@pytest.mark.parametrize("chunk, block", [(1, 1), (7, 3), (64, 7), (100, 64), (None, 4096)])
def test_chunks_blocks_and_threads_agree_with_the_torch_path(chunk, block):
    """Chunks and blocks smaller than the halo and the length, and two threads, compute the same unit."""
    fast = fast_unit(package_unit(6, 9, seed=1))
    x = torch.randn(2, 6, 300)
    args = (fast.snake1.alpha, fast.conv.weight, fast.conv.bias, fast.snake2.alpha, 9, fast.pointwise.weight,
            fast.pointwise.bias)
    with torch.inference_mode():
        out = depthwise_residual(x, *args, chunk=chunk, block=block)
        assert (out - fast.reference(x)).abs().max() < 1e-5
        torch.set_num_threads(2)  # the autouse fixture restores one thread
        again = depthwise_residual(x, *args, chunk=chunk, block=block)
        assert torch.get_num_threads() == 2
    torch.set_num_threads(1)
    assert (again - out).abs().max() < 1e-6  # the kernel rows are the same; the matmul may split differently


def test_a_one_thread_fork_of_a_process_on_numba_threads_runs_the_unit():
    """With one thread the kernel uses no OpenMP, so a forked child (one thread, as torch's DataLoader workers set:
    neither torch nor numba can use GNU OpenMP across a fork) runs it after its parent ran it on numba's threads."""
    fast = fast_unit(package_unit(8, 3, seed=4))
    x = torch.randn(1, 8, 100)
    torch.set_num_threads(2)  # the autouse fixture restores one thread
    with torch.inference_mode():
        expected = fast(x)  # on numba's OpenMP threads

    def child():
        torch.set_num_threads(1)
        with torch.inference_mode():
            assert (fast(x) - expected).abs().max() < 1e-6

    process = multiprocessing.get_context("fork").Process(target=child, daemon=True)
    process.start()
    process.join(120)
    assert process.exitcode == 0


def test_kernel_path_equals_the_torch_path_and_takes_any_layout():
    fast = fast_unit(package_unit(16, 3, seed=2))
    x = torch.randn(2, 40, 16).transpose(1, 2)  # (2, 16, 40), not contiguous
    with torch.inference_mode():
        out, reference = fast(x), fast.reference(x)
    assert not x.is_contiguous() and (out - reference).abs().max() < 1e-5


def test_other_dtypes_autocast_and_autograd_take_the_torch_path():
    unit = package_unit(8, 1, seed=3)
    fast = fast_unit(unit)
    x = torch.randn(1, 8, 50)
    with torch.inference_mode(), precision("bfloat16"):
        assert not fast.uses_kernel(x) and not fast.uses_kernel(x.bfloat16())
        torch.testing.assert_close(fast(x), unit(x), atol=0, rtol=0)  # the convs in bf16, as the package's
        out = fast(x.bfloat16())
        assert out.dtype == torch.bfloat16 and torch.equal(out, unit(x.bfloat16()))
    with torch.inference_mode():
        double = x.double()
        assert not fast.uses_kernel(double)
        torch.testing.assert_close(fast.double()(double), unit.double()(double))
    fast.float()
    assert not fast.uses_kernel(x)  # gradients enabled and the parameters require them
    fast(x).square().sum().backward()
    assert fast.conv.weight.grad is not None and fast.snake1.alpha.grad is not None


def test_only_depthwise_units_are_swapped_and_channels_last_keeps_the_function():
    model = nn.Sequential(nn.Sequential(package_unit(8, 1), package_unit(8, 3, groups=1), nn.Conv1d(8, 8, 1)))
    for parent in list(model.modules()):  # our snakes, as SNACCodec builds them
        for name, child in list(parent.named_children()):
            if type(child).__name__ == "Snake1d" and not isinstance(child, Snake1d):
                ours = Snake1d(child.alpha.shape[1])
                ours.alpha = child.alpha
                setattr(parent, name, ours)
    x = torch.randn(2, 8, 30)
    with torch.inference_mode():
        expected = model(x)
    assert use_fast_stand_ins(model) == 1  # tts_codec.codecs.snac registered the package's ResidualUnit
    assert isinstance(model[0][0], FastResidualUnit) and isinstance(model[0][1], ResidualUnit)
    last = copy.deepcopy(model)
    assert use_channels_last(last) == 1 and isinstance(last[0].stack[0], ChannelsLastResidualUnit)
    with torch.inference_mode():
        assert (model(x) - expected).abs().max() < 1e-5
        assert (last(x) - expected).abs().max() < 1e-5


def test_cached_snake_under_inference_mode_equals_snake():
    alpha = nn.Parameter(torch.rand(1, 4, 1) * 2 + 0.2)
    x = torch.randn(2, 4, 300)
    with torch.inference_mode():
        out = CachedSnake(alpha, block=256)(x)  # several blocks of whole rows, written with out=
    torch.testing.assert_close(out, snake(x, alpha).detach(), atol=1e-6, rtol=1e-5)


@pytest.fixture(scope="module")
def tiny_pair():
    """A tiny SNAC with non-trivial alphas and gains, and the package's model holding the same weights."""
    from snac import SNAC

    cfg = tiny_config()
    torch.manual_seed(0)
    ours = build_codec(cfg).eval()
    with torch.no_grad():
        for name, param in ours.named_parameters():
            if name.endswith(("alpha", "original0")):
                param.mul_(0.5 + torch.rand_like(param))
    package = SNAC(sampling_rate=cfg["sample_rate"], **cfg["codec_conf"])
    package.load_state_dict(ours.model.state_dict())
    gen = torch.Generator().manual_seed(0)
    codes = {name: torch.randint(0, info.codebook_size, (2, 8 // info.stride), generator=gen)
             for name, info in ours.token_streams.items()}
    return ours, package.eval(), codes


def test_fast_decode_equals_the_package_decode(tiny_pair):
    ours, package, codes = tiny_pair
    fast = prepare_for_inference(copy.deepcopy(ours), "cpu", fast=True)
    units = [m for m in fast.modules() if isinstance(m, FastResidualUnit)]
    assert len(units) == 24 and sum(isinstance(m, FastNoiseBlock) for m in fast.modules()) == 4  # encoder + decoder
    plain = prepare_for_inference(copy.deepcopy(ours), "cpu", fast=False)
    assert list(fast.state_dict()) == list(plain.state_dict())  # the stand-ins keep the modules' names
    torch.manual_seed(fast.noise_seed)
    with torch.inference_mode():
        expected = package.decode(list(codes.values()))
        out = fast.decode(codes)
        with precision("bfloat16"):
            half = fast.decode(codes)
    assert out.shape == expected.shape == (2, 1, 8 * 512) and expected.abs().max() > 1e-3
    assert (out - expected).abs().max() < 1e-4
    assert half.shape == out.shape and torch.isfinite(half).all() and (half.float() - out).abs().max() < 0.1


def test_fast_channels_last_decode_equals_the_package_decode(tiny_pair):
    ours, package, codes = tiny_pair
    fast = prepare_for_inference(copy.deepcopy(ours), "cpu", fast=True, channels_last=True)
    assert any(isinstance(m, ChannelsLastResidualUnit) for m in fast.modules())
    assert not any(isinstance(m, FastResidualUnit) for m in fast.modules())
    torch.manual_seed(fast.noise_seed)
    with torch.inference_mode():
        expected = package.decode(list(codes.values()))
        out = fast.decode(codes)
    assert (out - expected).abs().max() < 1e-4
