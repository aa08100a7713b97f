"""The depthwise residual unit x + W snake(dwconv(snake(x))) + b for CPU inference: a numba kernel and a matmul.

In torch the unit costs about ten full passes over a (B, C, T) tensor and two full-size temporaries (snake as sin,
square and addcmul, twice; oneDNN's depthwise conv at about 0.3 GMAC/s; the 1x1 conv through im2col; the residual
add), and on a VM a fresh large tensor costs as much again in page faults. Here the time axis goes in chunks of
about 2^17 values: for each chunk the kernel walks every channel row in L1-sized blocks (snake the block and its
halo into a buffer, convolve it with zero padding that keeps the length, snake the sums), storing `h` in a small
scratch reused by every chunk, and writes `x + b` into the output while the input is in cache; one in-place matmul
per chunk then adds (C, C) @ h. The input is read once, the output written once, and `h` never leaves the cache.

Numerics stay float32: `alpha * x`, the conv sums (bias first, then the taps in order) and the snake's
`x + sin^2(alpha x) / alpha` round as torch's ops do, within a few float32 ulps. sin^2 uses its period pi: the
argument is reduced modulo pi / 2 in float64 (exact for any float32 input), and a degree-4 polynomial in r^2
gives sin^2 (or cos^2 = 1 - sin^2 in odd quadrants) on [-pi/4, pi/4] within 1.1e-7 absolute, as torch's float32
sin then square is (libm's sin has no vector form without SVML, a polynomial does). Only FMA contraction is
allowed (`fastmath={"contract"}`): no reassociation, NaN and inf propagate.
"""
from __future__ import annotations

import math

import numba
import numpy as np
import torch
from numba import njit, prange

#: time steps per kernel block: the snaked block with its halo and the conv sums (2 * 8 KiB) stay in L1
BLOCK = 2048
#: values (channels * time steps) per chunk: h and the output chunk (2 * 512 KiB) stay in L2 / L3 for the matmul
CHUNK_VALUES = 1 << 17
_TWO_OVER_PI, _HALF_PI = 2.0 / math.pi, math.pi / 2
#: sin^2(r) ~ s (1 + s (C1 + s (C2 + s (C3 + s C4)))), s = r^2, |r| <= pi/4 (minimax fit; 1.1e-7 in float32)
_C1, _C2, _C3, _C4 = -0.333333283662796, 0.04444368556141853, -0.003171151503920555, 0.0001346476055914536
_FASTMATH = {"contract"}


@njit(fastmath=_FASTMATH)  # LLVM inlines it; numba-level inlining only doubles the compile time
def _snake(v, alpha, inv_alpha):
    """v + sin^2(alpha v) * inv_alpha for float32 scalars (vectorises: no libm call; the branch becomes a blend)."""
    y = np.float64(alpha * v)
    quadrant = math.floor(y * _TWO_OVER_PI + 0.5)
    r = np.float32(y - quadrant * _HALF_PI)
    s = r * r
    sin2 = s * (np.float32(1.0) + s * (np.float32(_C1) + s * (np.float32(_C2) + s * (np.float32(_C3)
                                                                                      + s * np.float32(_C4)))))
    half = quadrant * 0.5
    if half != math.floor(half):  # odd quadrant: sin^2(r + pi/2) = cos^2(r)
        sin2 = np.float32(1.0) - sin2
    return v + sin2 * inv_alpha


@njit(fastmath=_FASTMATH)
def _channel(x, h, shifted, a1, ia1, weight, b, a2, ia2, dilation, sh, start, stop, buf, acc):
    """One channel row, columns [start, stop): h[:stop - start] = snake2(dwconv(snake1(x))), shifted = x + sh,
    block by block of len(acc) steps through `buf` (len(acc) + 2 * pad)."""
    length, taps = x.shape[0], weight.shape[0]
    pad = (taps - 1) * dilation // 2
    step = acc.shape[0]
    for t0 in range(start, stop, step):
        n = min(step, stop - t0)
        lo, hi = max(t0 - pad, 0), min(t0 + n + pad, length)
        off = lo - (t0 - pad)  # buffer index of x[lo]; the zero padding lies outside [off, off + hi - lo)
        buf[:off] = 0.0
        buf[off + hi - lo:n + 2 * pad] = 0.0
        src, dst = x[lo:hi], buf[off:off + hi - lo]
        for j in range(hi - lo):
            dst[j] = _snake(src[j], a1, ia1)
        acc[:n] = b
        for k in range(taps):
            wk, tap = weight[k], buf[k * dilation:k * dilation + n]
            for t in range(n):
                acc[t] += wk * tap[t]
        xo, ho, so = x[t0:t0 + n], h[t0 - start:t0 - start + n], shifted[t0:t0 + n]
        for t in range(n):
            ho[t] = _snake(acc[t], a2, ia2)
            so[t] = xo[t] + sh


@njit(nogil=True, fastmath=_FASTMATH, cache=True)
def _kernel(x, alpha1, inv_alpha1, weight, bias, alpha2, inv_alpha2, dilation, shift, start, stop, h, shifted,
            block):
    """Columns [start, stop) of every channel of x (C, T) on this thread (see `_channel`)."""
    step = max(1, min(block, stop - start))
    pad = (weight.shape[1] - 1) * dilation // 2
    buf, acc = np.zeros(step + 2 * pad, dtype=np.float32), np.empty(step, dtype=np.float32)
    for c in range(x.shape[0]):
        _channel(x[c], h[c], shifted[c], alpha1[c], inv_alpha1[c], weight[c], bias[c], alpha2[c], inv_alpha2[c],
                 dilation, shift[c], start, stop, buf, acc)


@njit(parallel=True, fastmath=_FASTMATH, cache=True)
def _kernel_parallel(x, alpha1, inv_alpha1, weight, bias, alpha2, inv_alpha2, dilation, shift, start, stop, h,
                     shifted, block):
    """`_kernel` with the channels spread over numba's threads (its OpenMP layer: torch's own libgomp pool)."""
    step = max(1, min(block, stop - start))
    pad = (weight.shape[1] - 1) * dilation // 2
    for c in prange(x.shape[0]):
        buf, acc = np.zeros(step + 2 * pad, dtype=np.float32), np.empty(step, dtype=np.float32)
        _channel(x[c], h[c], shifted[c], alpha1[c], inv_alpha1[c], weight[c], bias[c], alpha2[c], inv_alpha2[c],
                 dilation, shift[c], start, stop, buf, acc)


def _vector(t: torch.Tensor | None, channels: int) -> np.ndarray:
    """A per-channel parameter ((1, C, 1), (C,) or None = zeros) as a contiguous float32 (C,) array."""
    if t is None:
        return np.zeros(channels, dtype=np.float32)
    return t.detach().reshape(channels).float().contiguous().numpy()


def depthwise_residual(x: torch.Tensor, alpha1: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                       alpha2: torch.Tensor, dilation: int, pointwise_weight: torch.Tensor,
                       pointwise_bias: torch.Tensor | None, chunk: int | None = None,
                       block: int = BLOCK) -> torch.Tensor:
    """x + pointwise(snake(dwconv(snake(x)))) for a depthwise Conv1d that keeps the length (no autograd).

    With one torch thread the kernel runs on this thread, without OpenMP (so it also runs in a forked child that
    sets one thread, as torch's DataLoader workers do: GNU OpenMP kills a fork that uses it after its parent did);
    with more, on min(torch.get_num_threads(), NUMBA_NUM_THREADS) threads of numba's OpenMP layer (torch's own
    libgomp pool), leaving torch's thread count as it was. The first call with an empty numba cache compiles the
    kernel in use (seconds; cached under __pycache__ after).

    Args:
        x: (B, C, T) float32 CPU tensor (made contiguous if it is not).
        alpha1, alpha2: (1, C, 1) snake alphas. weight: (C, 1, K) depthwise weight, K odd. bias: (C,) or None.
        dilation: the depthwise conv's dilation (its padding is dilation * (K - 1) / 2).
        pointwise_weight: (C, C, 1) 1x1 conv weight. pointwise_bias: (C,) or None.
        chunk, block: time steps per matmul chunk (default: CHUNK_VALUES / C) and per kernel block (tests use
            small ones to cross their edges).

    Returns:
        (B, C, T) float32, a new tensor.
    """
    batch, channels, length = x.shape
    taps = weight.shape[-1]
    if x.dtype != torch.float32 or x.device.type != "cpu" or weight.shape != (channels, 1, taps) or taps % 2 == 0 \
            or pointwise_weight.shape != (channels, channels, 1):
        raise ValueError(f"expected a float32 CPU (B, C, T) input, a (C, 1, K) weight with K odd and a (C, C, 1) "
                         f"pointwise weight, got {x.dtype} {x.device.type} {tuple(x.shape)}, "
                         f"{tuple(weight.shape)} and {tuple(pointwise_weight.shape)}")
    x = x.detach().contiguous()
    out = torch.empty_like(x)
    chunk = max(1, min(chunk or CHUNK_VALUES // channels, length))
    h = torch.empty(channels, chunk)
    matrix = pointwise_weight.detach().reshape(channels, channels).float()
    inv1, inv2 = ((a.detach().float() + 1e-9).reciprocal() for a in (alpha1, alpha2))
    params = (_vector(alpha1, channels), _vector(inv1, channels),
              weight.detach().reshape(channels, taps).float().contiguous().numpy(), _vector(bias, channels),
              _vector(alpha2, channels), _vector(inv2, channels), int(dilation), _vector(pointwise_bias, channels))
    threads = torch.get_num_threads()
    kernel = _kernel_parallel if threads > 1 and channels > 1 else _kernel
    try:
        if kernel is _kernel_parallel:
            numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        with torch.profiler.record_function("depthwise_residual"):  # the kernel's time is this entry's self time
            h_array, block = h.numpy(), max(1, int(block))
            for rows, out_rows in zip(x, out):
                arrays = rows.numpy(), out_rows.numpy()
                for start in range(0, length, chunk):
                    stop = min(start + chunk, length)
                    kernel(arrays[0], *params, start, stop, h_array, arrays[1], block)
                    _keep_threads(threads)
                    out_rows[:, start:stop].addmm_(matrix, h[:, :stop - start])  # (C, n) += (C, C) @ (C, n)
    finally:
        _keep_threads(threads)
    return out


def _keep_threads(threads: int) -> None:
    """Give torch back its thread count.

    NOTE(numba): starting numba's OpenMP pool (the libgomp torch shares) sets OpenMP's thread count to
    NUMBA_NUM_THREADS, and torch's with it; left so, every later torch op of a caller that asked for fewer threads
    opens parallel regions on all cores (small ops measured 25x slower on a busy 2-core machine).
    https://github.com/numba/numba/issues/9387
    """
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
