"""Shape and behaviour tests of the generic layers: weight norm, snake, AdaLN, ConvNeXt, sampling block."""
import pytest
import torch
from torch import nn

from tts_codec.nn.ada_layer_norm import AdaLayerNorm
from tts_codec.nn.convnext import ConvNeXtBackbone, ConvNeXtBlock
from tts_codec.nn.resample import SamplingBlock
from tts_codec.nn.snake import CachedSnake, Snake1d, snake, use_cached_snake
from tts_codec.nn.weight_norm import has_weight_norm, remove_weight_norm, weight_to_g_v, wn_conv1d, wn_conv_transpose1d


def test_weight_norm_convs_and_removal_keep_the_function():
    torch.manual_seed(0)
    net = torch.nn.Sequential(wn_conv1d(4, 6, 3, padding=1), wn_conv_transpose1d(6, 2, 4, stride=2, padding=1))
    g = net[0].parametrizations.weight.original0
    assert g.shape == (6, 1, 1) and net[1].parametrizations.weight.original0.shape == (6, 1, 1)
    x = torch.randn(2, 4, 10)
    before = net(x)
    assert before.shape == (2, 2, 20) and has_weight_norm(net)
    assert remove_weight_norm(net) == 2 and not has_weight_norm(net)
    torch.testing.assert_close(net(x), before)


def test_removing_weight_norm_from_a_copy_leaves_the_original_working():
    import copy

    net = torch.nn.Sequential(wn_conv1d(2, 3, 1))
    x = torch.randn(1, 2, 4)
    expected = net(x)
    folded = copy.deepcopy(net)
    remove_weight_norm(folded)
    torch.testing.assert_close(net(x), expected)
    torch.testing.assert_close(folded(x), expected)
    assert type(folded[0]) is torch.nn.Conv1d and "0.weight" in dict(folded.named_parameters())


def test_weight_to_g_v_reconstructs_the_weight():
    w = torch.randn(5, 3, 7)
    g, v = weight_to_g_v(w)
    assert g.shape == (5, 1, 1)
    torch.testing.assert_close(torch._weight_norm(v, g, 0), w)


def test_snake_formula_and_shape():
    x = torch.randn(2, 3, 5)
    act = Snake1d(3)
    assert act.alpha.shape == (1, 3, 1)
    torch.testing.assert_close(act(x), x + torch.sin(x) ** 2)
    alpha = torch.full((1, 3, 1), 2.0)
    torch.testing.assert_close(snake(x, alpha), x + torch.sin(2 * x) ** 2 / 2)


def test_cached_snake_replaces_snake_modules_by_type_and_computes_the_same():
    class RenamedSnake(Snake1d):  # a subclass with another name is still a snake
        pass

    class Alpha(nn.Module):  # a parameter called alpha does not make a module a snake
        def __init__(self):
            super().__init__()
            self.alpha = nn.Parameter(torch.ones(1, 4, 1))

        def forward(self, x):
            return x * self.alpha

    torch.manual_seed(0)
    model = nn.Sequential(Snake1d(4), nn.Sequential(RenamedSnake(4)), Alpha())
    for m in (model[0], model[1][0]):
        m.alpha.data.uniform_(0.2, 3.0)
    x = torch.randn(2, 4, 300)
    expected = model(x)
    assert use_cached_snake(model) == 2
    assert isinstance(model[0], CachedSnake) and isinstance(model[1][0], CachedSnake) and isinstance(model[2], Alpha)
    torch.testing.assert_close(model(x), expected, atol=1e-6, rtol=1e-5)
    small_blocks = CachedSnake(model[0].alpha, block=256)  # several blocks of whole rows
    torch.testing.assert_close(small_blocks(x), snake(x, model[0].alpha), atol=1e-6, rtol=1e-5)


def test_ada_layer_norm_starts_as_layer_norm_for_unit_condition():
    norm = AdaLayerNorm(condition_dim=4, embedding_dim=8)
    assert norm.scale.weight.eq(1).all() and norm.shift.weight.eq(0).all()
    with torch.no_grad():
        norm.scale.bias.zero_()
        norm.shift.bias.zero_()
    x = torch.randn(2, 5, 8)
    cond = torch.full((2, 4), 0.25)  # scale = ones @ c = 1, shift = 0
    torch.testing.assert_close(norm(x, cond), torch.nn.functional.layer_norm(x, (8,), eps=1e-6))


@pytest.mark.parametrize("condition_dim", [None, 6])
def test_convnext_backbone_shapes(condition_dim):
    net = ConvNeXtBackbone(5, 8, 16, num_layers=3, condition_dim=condition_dim)
    cond = torch.randn(2, 6) if condition_dim else None
    out = net(torch.randn(2, 5, 11), cond)
    assert out.shape == (2, 11, 8)  # channels last
    assert net.convnext[0].gamma.detach().eq(1 / 3).all()
    assert ConvNeXtBlock(8, 16, 0.5)(torch.randn(2, 8, 4)).shape == (2, 8, 4)


def test_conditioned_backbone_requires_condition():
    with pytest.raises(ValueError, match="condition=None"):
        ConvNeXtBackbone(5, 8, 16, num_layers=1, condition_dim=6)(torch.randn(1, 5, 3))


def test_ada_norm_scale_init_options():
    official = ConvNeXtBackbone(4, 8, 16, num_layers=1, condition_dim=6)
    assert official.norm.scale.weight.std() < 0.1  # the official backbone-wide trunc_normal(0.02) init wins
    ones = ConvNeXtBackbone(4, 8, 16, num_layers=1, condition_dim=6, ada_norm_scale_init="ones")
    assert ones.norm.scale.weight.eq(1).all() and ones.convnext[0].norm.shift.weight.eq(0).all()
    with pytest.raises(ValueError, match="ada_norm_scale_init"):
        ConvNeXtBackbone(4, 8, 16, num_layers=1, ada_norm_scale_init="zeros")


def test_sampling_block_ratio_one_is_three_x():
    x = torch.randn(2, 7, 4)  # (B, T, C)
    torch.testing.assert_close(SamplingBlock(4, groups=4)(x), 3 * x.transpose(1, 2))


@pytest.mark.parametrize("up,down,t_out", [(2, 1, 14), (1, 2, 3), (3, 1, 21)])
def test_sampling_block_resamples(up, down, t_out):
    out = SamplingBlock(4, groups=4, upsample_scale=up, downsample_scale=down)(torch.randn(2, 7, 4))
    assert out.shape == (2, 4, t_out)
