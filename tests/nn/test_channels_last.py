"""Channels-last conv stacks compute the function of the 1-d stack they replace (DAC generator, tiny BiCodec,
tiny SNAC)."""
from __future__ import annotations

import copy

import torch

from tts_codec.codecs import build_codec
from tts_codec.codecs.bicodec.config import WaveGeneratorConfig
from tts_codec.codecs.bicodec.generator import WaveGenerator
from tts_codec.codecs.inference import prepare_for_inference
from tts_codec.codecs.snac import ChannelsLastNoiseBlock
from tts_codec.config import load_config
from tts_codec.nn.channels_last import ChannelsLast1d, ChannelsLastSnake, use_channels_last
from tts_codec.nn.snake import Snake1d
from tts_codec.nn.weight_norm import remove_weight_norm
from tts_codec.testing.bicodec import seeded, tiny_config


def test_dac_generator_output_is_unchanged_within_1e_4():
    torch.manual_seed(0)
    gen = WaveGenerator(WaveGeneratorConfig(input_channel=32, channels=64, rates=[4, 2], kernel_sizes=[8, 4])).eval()
    remove_weight_norm(gen)
    for module in gen.modules():  # non-trivial alphas, so a wrongly broadcast alpha would show
        if isinstance(module, Snake1d):
            module.alpha.data.uniform_(0.3, 3.0)
    fast = copy.deepcopy(gen)
    assert use_channels_last(fast) == 1 and isinstance(fast.model, ChannelsLast1d)
    assert any(isinstance(m, ChannelsLastSnake) for m in fast.modules())
    x = torch.randn(2, 32, 13)
    with torch.inference_mode():
        ref, out = gen(x), fast(x)
    assert out.shape == ref.shape == (2, 1, 13 * 8)
    assert (out - ref).abs().max() < 1e-4 and ref.abs().max() > 1e-2


def test_tiny_bicodec_decode_is_unchanged_within_1e_4():
    model = seeded(lambda: build_codec(tiny_config())).eval()
    fast = prepare_for_inference(copy.deepcopy(model), channels_last=True)
    plain = prepare_for_inference(model, fast=False)
    assert any(isinstance(m, ChannelsLast1d) for m in fast.modules())
    assert not any(isinstance(m, ChannelsLast1d) for m in fast.prenet.modules())  # LayerNorm/Linear stacks stay
    gen = torch.Generator().manual_seed(0)
    sem = torch.randint(0, plain.codebook_size, (2, 9), generator=gen)
    glob = torch.randint(0, plain.global_codebook_size, (2, 1, plain.num_global_tokens), generator=gen)
    with torch.inference_mode():
        assert (fast.detokenize(sem, glob) - plain.detokenize(sem, glob)).abs().max() < 1e-4


def test_tiny_snac_decode_with_noise_blocks_is_unchanged_within_1e_4():
    """SNAC's decoder blocks hold NoiseBlocks: their channels-last stand-in draws the same noise, so the audio of
    the same codes stays within float rounding (and the stacks holding them are converted, not skipped)."""
    torch.manual_seed(0)
    model = build_codec(load_config("conf/codec/snac_tiny.yaml")).eval()
    fast = prepare_for_inference(copy.deepcopy(model), channels_last=True)
    plain = prepare_for_inference(model)
    assert isinstance(fast.model.decoder.model, ChannelsLast1d)
    assert any(isinstance(m, ChannelsLastNoiseBlock) for m in fast.modules())
    gen = torch.Generator().manual_seed(0)
    codes = {name: torch.randint(0, info.codebook_size, (2, 8 // info.stride), generator=gen)
             for name, info in plain.token_streams.items()}
    with torch.inference_mode():
        ref, out = plain.decode(codes), fast.decode(codes)
    assert out.shape == ref.shape and ref.abs().max() > 1e-3
    assert (out - ref).abs().max() < 1e-4
