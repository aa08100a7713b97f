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


def test_the_lean_call_gives_exactly_torchs_dynamic_linear_output():
    """quantize_linears' layers call the int8 op directly; torch's own quantize_dynamic result is the reference."""
    import copy
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    from tts_codec.nn.int8_linear import LeanInt8Linear

    torch.manual_seed(1)
    ours = nn.Sequential(nn.Linear(32, 48), nn.GELU(), nn.Linear(48, 16, bias=False))
    reference = copy.deepcopy(ours)
    quantize_linears(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(reference, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)
    assert type(ours[0]) is LeanInt8Linear and type(reference[0]) is not LeanInt8Linear
    for x in (torch.randn(1, 1, 32), torch.randn(4, 7, 32)):  # one decoding step, and a batch
        with torch.inference_mode():
            assert torch.equal(ours(x), reference(x))
    copied = copy.deepcopy(ours)  # a quantized model still copies (int8 copies of decoders are made this way)
    with torch.inference_mode():
        assert torch.equal(copied(x), ours(x))
