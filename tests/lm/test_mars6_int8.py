"""The int8-weight MARS6 copy: its next-token distributions stay within a stated distance of the float model's.

int8 rounding is not exact, so the tolerance is stated rather than token identity (performance.md): teacher-forced
over 40 patches of the tiny config, the level-restricted next-token distributions differ by at most 0.02 in total
variation and the top-1 choice agrees on at least 95 % of the tokens. Measured with the output head in int8 too:
0.0082 and 96.4 % (tiny), 0.0127 and 96.1 % on the full 67 M configuration with random weights (whose flat
distributions make near-ties common); with a float head it was 0.0046 / 99.6 % and 0.0098 / 96.8 %.
"""
import torch

from tts_codec.config import load_config
from tts_codec.lm.mars6.config import Mars6Config
from tts_codec.lm.mars6.decoding import DecodeOptions, decode_patches
from tts_codec.lm.mars6.int8 import int8_copy
from tts_codec.lm.mars6.model import Mars6
from tts_codec.lm.mars6.patches import level_allowed
from tts_codec.nn.int8_linear import is_int8_linear


def test_int8_copy_keeps_the_next_token_distributions_and_leaves_the_model_float():
    conf = load_config("egs/mini/tts1/conf/mars6_tiny.yaml")["lm_conf"]
    cfg = Mars6Config.from_dict({**conf, "text_vocab": 100})  # the vocabulary size comes from stage 4
    torch.manual_seed(0)
    model = Mars6(cfg).eval()
    quantized = int8_copy(model)
    gen = torch.Generator().manual_seed(1)
    text = torch.randint(0, cfg.text_vocab, (1, 20), generator=gen)
    speaker = torch.randn(1, cfg.speaker_dim, generator=gen)
    allowed = level_allowed(cfg.levels, cfg.codebook_size)  # (P, V): each position's level ids + EOS
    ids = [torch.nonzero(row)[:, 0] for row in allowed]
    patches = torch.stack([ids[j][torch.randint(0, cfg.codebook_size, (40,), generator=gen)]
                           for j in range(cfg.patch_size)], dim=-1)[None]  # (1, 40, P)
    with torch.inference_mode():
        exact, _ = model(text, torch.ones_like(text, dtype=torch.bool), speaker, patches)
        approx, _ = quantized(text, torch.ones_like(text, dtype=torch.bool), speaker, patches)
    exact, approx = (x.masked_fill(~allowed[None, None], float("-inf")) for x in (exact, approx))
    total_variation = 0.5 * (exact.softmax(-1) - approx.softmax(-1)).abs().sum(-1)
    assert 0 < total_variation.max() <= 0.02
    assert (exact.argmax(-1) == approx.argmax(-1)).float().mean() >= 0.95
    assert any(is_int8_linear(m) for m in quantized.modules())
    assert not any(is_int8_linear(m) for m in model.modules())
    assert is_int8_linear(quantized.head)  # decoding scores its rows per position through int8 layers
    options = DecodeOptions(max_steps=6, min_steps=6)
    with torch.inference_mode():
        memory = quantized.encode(text, torch.ones_like(text, dtype=torch.bool), speaker)
        decoded = decode_patches(quantized, memory, options, torch.Generator().manual_seed(3))
    assert decoded.patches.shape == (6, cfg.patch_size)
    for j in range(cfg.patch_size):  # every token in its level's id range
        assert allowed[j, torch.as_tensor(decoded.patches[:, j])].all()


def test_the_int8_call_skips_only_the_failing_override_lookup():
    """`int8_gemm` switches off the `__torch_function__` lookup for plain tensors (the packed weights' lookup raises
    inside torch): torch's own dynamic layer gives the same output, and modes and subclasses still see the op."""
    import copy
    import warnings

    from torch import nn
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    from torch.overrides import TorchFunctionMode

    from tts_codec.nn.int8_linear import linear_function, quantize_linears

    torch.manual_seed(2)
    ours = nn.Sequential(nn.Linear(16, 24))
    reference = copy.deepcopy(ours)
    quantize_linears(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(reference, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)
    x = torch.randn(1, 1, 16)
    with torch.inference_mode():
        assert torch.equal(ours(x), reference(x)) and torch.equal(linear_function(ours[0])(x), reference(x))
    seen = []

    class Spy(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(str(func))
            return func(*args, **(kwargs or {}))

    class Traced(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append("subclass " + str(func))
            return super().__torch_function__(func, types, args, kwargs)

    with Spy():
        ours(x)
    ours(x.as_subclass(Traced))
    assert "quantized.linear_dynamic.default" in seen and "subclass quantized.linear_dynamic.default" in seen
