"""The official Seed-TTS-eval SIM model loader on a tiny random checkpoint written with the official tensor names
(UniSpeech WavLM under `feature_extract.model.`, ECAPA-TDNN head at the top level), as `torch.load(ckpt)["model"]`."""
import numpy as np
import pytest
import torch

from tts_codec.errors import UserError
from tts_codec.eval.official_sv import OfficialSvEncoder, rename_wavlm, split_checkpoint
from tts_codec.eval.scoring import ScoreFailure
from tts_codec.eval.speaker import build_speaker_encoder

HIDDEN, LAYERS, HEADS, FFN, CONV, KERNELS = 16, 2, 2, 32, 8, (10, 3, 3, 3, 3, 2, 2)
CH, SCALE, CAT, EMB = 16, 8, 24, 8
PREFIX = "feature_extract.model."


def official_layout(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors under the official names (WavLM-large layout: layer-norm conv extractor, no conv bias)."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, positive=False):
        x = torch.randn(*shape, generator=g) * 0.2
        return x.abs() + 0.5 if positive else x

    s = {}
    for i, k in enumerate(KERNELS):
        s[f"{PREFIX}feature_extractor.conv_layers.{i}.0.weight"] = r(CONV, 1 if i == 0 else CONV, k)
        s[f"{PREFIX}feature_extractor.conv_layers.{i}.2.1.weight"] = r(CONV, positive=True)
        s[f"{PREFIX}feature_extractor.conv_layers.{i}.2.1.bias"] = r(CONV)
    s[f"{PREFIX}layer_norm.weight"], s[f"{PREFIX}layer_norm.bias"] = r(CONV, positive=True), r(CONV)
    s[f"{PREFIX}post_extract_proj.weight"], s[f"{PREFIX}post_extract_proj.bias"] = r(HIDDEN, CONV), r(HIDDEN)
    s[f"{PREFIX}mask_emb"] = r(HIDDEN)
    s[f"{PREFIX}encoder.pos_conv.0.weight_g"] = r(1, 1, 16, positive=True)
    s[f"{PREFIX}encoder.pos_conv.0.weight_v"] = r(HIDDEN, HIDDEN // 4, 16)
    s[f"{PREFIX}encoder.pos_conv.0.bias"] = r(HIDDEN)
    s[f"{PREFIX}encoder.layer_norm.weight"], s[f"{PREFIX}encoder.layer_norm.bias"] = r(HIDDEN, positive=True), r(HIDDEN)
    for n in range(LAYERS):
        p = f"{PREFIX}encoder.layers.{n}."
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            s[p + f"self_attn.{proj}.weight"], s[p + f"self_attn.{proj}.bias"] = r(HIDDEN, HIDDEN), r(HIDDEN)
        s[p + "self_attn.grep_linear.weight"], s[p + "self_attn.grep_linear.bias"] = r(8, HIDDEN // HEADS), r(8)
        s[p + "self_attn.grep_a"] = r(1, HEADS, 1, 1, positive=True)
        if n == 0:
            s[p + "self_attn.relative_attention_bias.weight"] = r(32, HEADS)
        for norm in ("self_attn_layer_norm", "final_layer_norm"):
            s[p + f"{norm}.weight"], s[p + f"{norm}.bias"] = r(HIDDEN, positive=True), r(HIDDEN)
        s[p + "fc1.weight"], s[p + "fc1.bias"] = r(FFN, HIDDEN), r(FFN)
        s[p + "fc2.weight"], s[p + "fc2.bias"] = r(HIDDEN, FFN), r(HIDDEN)

    def bn(name, n):
        s.update({f"{name}.weight": r(n, positive=True), f"{name}.bias": r(n), f"{name}.running_mean": r(n),
                  f"{name}.running_var": r(n, positive=True), f"{name}.num_batches_tracked": torch.tensor(7)})

    s["feature_weight"] = r(LAYERS + 1)
    s["layer1.conv.weight"], s["layer1.conv.bias"] = r(CH, HIDDEN, 5), r(CH)
    bn("layer1.bn", CH)
    for block in ("layer2", "layer3", "layer4"):
        for conv in ("Conv1dReluBn1", "Conv1dReluBn2"):
            s[f"{block}.{conv}.conv.weight"], s[f"{block}.{conv}.conv.bias"] = r(CH, CH, 1), r(CH)
            bn(f"{block}.{conv}.bn", CH)
        for i in range(SCALE - 1):
            w = CH // SCALE
            s[f"{block}.Res2Conv1dReluBn.convs.{i}.weight"] = r(w, w, 3)
            s[f"{block}.Res2Conv1dReluBn.convs.{i}.bias"] = r(w)
            bn(f"{block}.Res2Conv1dReluBn.bns.{i}", w)
        s[f"{block}.SE_Connect.linear1.weight"], s[f"{block}.SE_Connect.linear1.bias"] = r(128, CH), r(128)
        s[f"{block}.SE_Connect.linear2.weight"], s[f"{block}.SE_Connect.linear2.bias"] = r(CH, 128), r(CH)
    s["conv.weight"], s["conv.bias"] = r(CAT, 3 * CH, 1), r(CAT)
    s["pooling.linear1.weight"], s["pooling.linear1.bias"] = r(128, CAT, 1), r(128)  # the official 128 channels
    s["pooling.linear2.weight"], s["pooling.linear2.bias"] = r(CAT, 128, 1), r(CAT)
    bn("bn", 2 * CAT)
    s["linear.weight"], s["linear.bias"] = r(EMB, 2 * CAT), r(EMB)
    return s


def save(tmp_path, name, state):
    path = tmp_path / name
    torch.save({"model": state}, path)
    return str(path)


WAV = (0.3 * np.sin(2 * np.pi * 170 * np.arange(16000) / 16000)).astype(np.float32)


def embed(tmp_path, name, state, wav=WAV):
    return build_speaker_encoder(save(tmp_path, name, state)).embed(wav)


def test_every_official_tensor_is_used(tmp_path):
    from transformers import WavLMModel

    from tts_codec.eval.official_sv import wavlm_config

    wavlm, head = split_checkpoint(official_layout(), "x")
    model = WavLMModel(wavlm_config(wavlm, "x"))
    assert len(rename_wavlm(wavlm, set(model.state_dict()))) == len(wavlm)  # nothing dropped
    assert (model.config.num_hidden_layers, model.config.num_attention_heads, model.config.conv_bias) == (2, 2, False)
    assert not [k for k in head if k.startswith("feature_extract")]


def test_embedding_is_a_deterministic_unit_vector(tmp_path):
    state = official_layout()
    encoder = build_speaker_encoder(save(tmp_path, "a.pth", state))
    assert isinstance(encoder, OfficialSvEncoder)
    e = encoder.embed(WAV)
    assert e.shape == (EMB,) and np.linalg.norm(e) == pytest.approx(1.0)
    assert np.allclose(encoder.embed(WAV), e)
    assert float(np.dot(encoder.embed(np.roll(WAV, 37) * np.linspace(0, 1, len(WAV), dtype=np.float32)), e)) < 0.9999
    assert "official Seed-TTS-eval" in encoder.version()
    with pytest.raises(ScoreFailure, match="too short for WavLM: 399 samples"):
        encoder.embed(WAV[:399])


@pytest.mark.parametrize("layer, changed", [(0, False), (LAYERS - 1, False), (LAYERS, True)])
def test_hidden_states_follow_the_s3prl_convention(tmp_path, layer, changed):
    """Hidden state k is the input of layer k (state 0: after the positional conv), the last one the output of the
    last layer: with all the weight on one state, the last layer's weights matter only through the last state."""
    state = official_layout()
    state["feature_weight"] = torch.full((LAYERS + 1,), -1e4)
    state["feature_weight"][layer] = 0.0
    base = embed(tmp_path, f"b{layer}.pth", state)
    key = f"{PREFIX}encoder.layers.{LAYERS - 1}.fc2.weight"
    state[key] = state[key] * -2
    assert (not np.allclose(embed(tmp_path, f"c{layer}.pth", state), base, atol=1e-6)) == changed


def test_head_and_wavlm_weights_are_loaded(tmp_path):
    state = official_layout()
    base = embed(tmp_path, "base.pth", state)
    for key in ("linear.weight", f"{PREFIX}encoder.layers.0.fc2.weight", f"{PREFIX}encoder.pos_conv.0.weight_g"):
        changed = dict(state)
        changed[key] = changed[key] + 0.5
        assert not np.allclose(embed(tmp_path, f"{key}.pth", changed), base, atol=1e-6), key


def test_incomplete_or_foreign_checkpoints_are_user_errors(tmp_path):
    state = official_layout()
    del state[f"{PREFIX}encoder.layers.1.fc1.weight"]
    with pytest.raises(UserError, match="WavLM tensors missing.*encoder.layers.1.feed_forward.intermediate_dense"):
        embed(tmp_path, "missing.pth", state)
    with pytest.raises(UserError, match="not a WavLM \\+ ECAPA-TDNN verification checkpoint"):
        embed(tmp_path, "foreign.pth", {"weight": torch.zeros(3)})
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot load as a tensor-only torch checkpoint"):
        build_speaker_encoder(str(tmp_path / "junk.pth")).embed(WAV)
    state = official_layout()
    del state["layer3.SE_Connect.linear2.bias"]
    with pytest.raises(UserError, match="ECAPA-TDNN head does not match"):
        embed(tmp_path, "head.pth", state)
