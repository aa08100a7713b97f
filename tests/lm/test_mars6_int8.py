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
