"""ECAPA-TDNN, attentive statistics pooling and the perceiver resampler: shapes and invariances."""
import torch

from tts_codec.nn.attentive_pooling import AttentiveStatsPooling
from tts_codec.nn.ecapa_tdnn import EcapaTdnn
from tts_codec.nn.perceiver import PerceiverResampler, geglu_feed_forward


def test_attentive_pooling_shapes_and_constant_input():
    pool = AttentiveStatsPooling(6, bottleneck_dim=4, global_context_att=True)
    assert pool(torch.randn(2, 6, 9)).shape == (2, 12)
    const = torch.ones(1, 6, 9) * 2
    out = pool(const)
    torch.testing.assert_close(out[:, :6], torch.full((1, 6), 2.0))  # weighted mean of a constant
    assert out[:, 6:].max() < 1e-2 and torch.isfinite(out).all()  # std clamped, no NaN


def test_ecapa_shapes_and_silence_is_finite():
    net = EcapaTdnn(feat_dim=20, embed_dim=12, channels=16, latent_dim=24).eval()
    emb, latent = net(torch.randn(2, 20, 30))
    assert emb.shape == (2, 12) and latent.shape == (2, 24, 30)
    emb0, _ = net(torch.zeros(1, 20, 30))
    assert torch.isfinite(emb0).all()


def test_perceiver_resampler_shapes_and_any_context_length():
    torch.manual_seed(0)
    net = PerceiverResampler(dim=16, dim_context=24, num_latents=5, depth=2, dim_head=8, heads=2)
    assert net.latents.shape == (5, 16) and net.latents.std() < 0.1
    assert net(torch.randn(3, 7, 24)).shape == (3, 5, 16)
    assert net(torch.randn(3, 40, 24)).shape == (3, 5, 16)
    ff = geglu_feed_forward(128)
    assert ff[0].out_features == 682 and ff[2].in_features == 341  # official inner width int(128*4*2/3)
