"""Int8 storage of state dicts (pack_model --weights_dtype int8): which tensors are quantized, the rounding bound,
and the refusal of scales that do not fit their matrix."""
from __future__ import annotations

import pytest
import torch

from tts_codec.nn.int8_storage import SCALE_SUFFIX, dequantize_state, is_quantized, quantize_state


def _state() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    big = torch.randn(300, 64, generator=gen) * torch.linspace(0.01, 3.0, 300)[:, None]  # rows of unequal range
    big[7] = 0.0  # an all-zero row
    return {"big": big, "small": torch.randn(8, 8, generator=gen), "bias": torch.randn(300, generator=gen),
            "ids": torch.arange(20000).view(200, 100)}


def test_large_float_matrices_become_int8_rows_with_a_float16_scale_each():
    state = _state()
    stored = quantize_state(state, min_elements=1000)
    assert stored["big"].dtype == torch.int8 and stored["big"].shape == (300, 64)
    assert stored["big" + SCALE_SUFFIX].dtype == torch.float16 and stored["big" + SCALE_SUFFIX].shape == (300,)
    assert stored["big"].abs().amax(dim=1)[[0, 100, 299]].tolist() == [127, 127, 127]  # each row uses its range
    for key in ("small", "bias", "ids"):  # too small, a vector, not floating point
        assert torch.equal(stored[key], state[key]) and key + SCALE_SUFFIX not in stored
    assert is_quantized(stored) and not is_quantized(state)


def test_dequantized_weights_are_within_half_a_step_of_their_row():
    state = _state()
    stored = quantize_state(state, min_elements=1000)
    restored = dequantize_state(stored)
    assert set(restored) == set(state) and restored["big"].dtype == torch.float32
    step = stored["big" + SCALE_SUFFIX].float()[:, None]
    error = (restored["big"] - state["big"]).abs()
    assert bool((error <= step / 2 + 1e-6 * state["big"].abs()).all())
    assert error.max() > 0  # the values really were rounded
    assert torch.equal(restored["big"][7], torch.zeros(64))
    assert torch.equal(restored["small"], state["small"]) and torch.equal(restored["ids"], state["ids"])


def test_a_float_state_passes_through_dequantization_unchanged():
    state = _state()
    restored = dequantize_state(state)
    assert all(torch.equal(restored[k], state[k]) for k in state)


@pytest.mark.parametrize("damage", ["scale_too_short", "matrix_missing", "matrix_not_int8"])
def test_a_scale_that_does_not_fit_its_matrix_is_refused_by_name(damage):
    stored = quantize_state(_state(), min_elements=1000)
    if damage == "scale_too_short":
        stored["big" + SCALE_SUFFIX] = stored["big" + SCALE_SUFFIX][:-1]
    elif damage == "matrix_missing":
        del stored["big"]
    else:
        stored["big"] = stored["big"].float()
    with pytest.raises(ValueError, match="lm/model.safetensors: int8 scale big.int8_row_scale does not belong"):
        dequantize_state(stored, "lm/model.safetensors")


def test_a_quantized_state_is_not_quantized_twice():
    stored = quantize_state(_state(), min_elements=1000)
    with pytest.raises(ValueError, match="already holds an int8 row scale"):
        quantize_state(stored, min_elements=1000)
