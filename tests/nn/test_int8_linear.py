"""Int8 linear layers: outputs close to the float layer, replacement in place except the kept layers."""
import torch
from torch import nn

from tts_codec.nn.int8_linear import is_int8_linear, quantize_linears


def test_quantized_layers_stay_close_to_the_float_ones_and_keep_what_is_asked():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 96), nn.ReLU(), nn.Sequential(nn.Linear(96, 48), nn.Linear(48, 8, bias=False)))
    x = torch.randn(3, 5, 64)
    with torch.no_grad():
        before = model(x)
    assert quantize_linears(model, keep=lambda name, layer: name == "2.1") == 2
    assert [is_int8_linear(m) for m in (model[0], model[2][0], model[2][1])] == [True, True, False]
    with torch.no_grad():
        after = model(x)
    assert after.shape == before.shape
    error = (after - before).abs().max() / before.abs().max()
    assert 0 < error < 0.05  # really rounded, within a few percent of the output range


def test_a_model_without_linear_layers_is_left_alone():
    model = nn.Sequential(nn.Conv1d(2, 2, 3))
    assert quantize_linears(model) == 0 and isinstance(model[0], nn.Conv1d)
