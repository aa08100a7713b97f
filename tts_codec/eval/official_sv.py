"""The official Seed-TTS-eval SIM model from its local checkpoint: WavLM-large + ECAPA-TDNN (UniSpeech
`wavlm_large_finetune.pth`), re-implemented over transformers' WavLMModel so that neither s3prl, fairseq nor
torchaudio is needed.

The official verification (UniSpeech downstreams/speaker_verification) builds an ECAPA-TDNN head over the s3prl
`wavlm_large` upstream and loads `torch.load(ckpt)["model"]`: the WavLM weights under `feature_extract.model.*`, the
head under `feature_weight`, `layer1..4`, `conv`, `pooling`, `bn`, `linear`. Here the WavLM part is renamed onto
transformers' WavLM (its hyperparameters read from the tensor shapes; conv strides and the relative-position
distance are WavLM's fixed values), the head onto the toolkit's ECAPA-TDNN (tts_codec.nn.ecapa_tdnn), and the embedding is
`head(softmax(feature_weight)-weighted sum of the 25 hidden states)` of the layer-normalised waveform (WavLM-large's
`normalize`), as s3prl feeds it. What differs: soxr instead of torchaudio's resampler, the file downmixed by the
toolkit's reader (official: first channel), float32 on the chosen device.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tts_codec.errors import UserError
from tts_codec.eval.speaker import SpeakerEncoder, _unit, check_wavlm_input
from tts_codec.nn.ecapa_tdnn import EcapaTdnn

WAVLM_STRIDES = (5, 2, 2, 2, 2, 2, 2)  # WavLM's conv feature extractor (not recoverable from weight shapes)
WAVLM_MAX_DISTANCE = 800  # WavLM's relative-position bucket distance
_LAYER_RENAMES = {  # UniSpeech WavLM layer names -> transformers WavLM layer names
    "self_attn.grep_linear.": "attention.gru_rel_pos_linear.", "self_attn.grep_a": "attention.gru_rel_pos_const",
    "self_attn.relative_attention_bias.": "attention.rel_attn_embed.", "self_attn_layer_norm.": "layer_norm.",
    "self_attn.": "attention.", "fc1.": "feed_forward.intermediate_dense.", "fc2.": "feed_forward.output_dense.",
}


_HEAD_RENAMES = (  # official head names -> tts_codec.nn.ecapa_tdnn.EcapaTdnn names
    (re.compile(r"^(layer[234])\.Conv1dReluBn1\."), r"\1.se_res2block.0."),
    (re.compile(r"^(layer[234])\.Res2Conv1dReluBn\."), r"\1.se_res2block.1."),
    (re.compile(r"^(layer[234])\.Conv1dReluBn2\."), r"\1.se_res2block.2."),
    (re.compile(r"^(layer[234])\.SE_Connect\."), r"\1.se_res2block.3."),
    (re.compile(r"^pooling\."), "pool."),
)


class EcapaHead(nn.Module):
    """The official SV head: a learnt softmax-weighted sum of WavLM hidden states, instance norm, then the toolkit's
    ECAPA-TDNN (no global context in the pooling, variance floor 1e-9), sizes from the checkpoint's tensors
    (official: 512 channels, 1536 after concatenation, 256-d embedding)."""

    def __init__(self, state: dict, feat_dim: int):
        super().__init__()
        self.feature_weight = nn.Parameter(torch.zeros(state["feature_weight"].shape[0]))
        self.instance_norm = nn.InstanceNorm1d(feat_dim)
        self.ecapa = EcapaTdnn(feat_dim, state["linear.weight"].shape[0], channels=state["layer1.conv.weight"].shape[0],
                               latent_dim=state["conv.weight"].shape[0], global_context_att=False, std_floor=1e-9)

    def load_official(self, state: dict) -> None:
        """Load the official head tensors (RuntimeError naming what does not match)."""
        renamed = {}
        for key, value in state.items():
            if key != "feature_weight":
                for pattern, repl in _HEAD_RENAMES:
                    key = pattern.sub(repl, key)
                renamed[key] = value
        self.feature_weight.data.copy_(state["feature_weight"])
        self.ecapa.load_state_dict(renamed, strict=True)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """Args: hidden_states (L, B, T, D). Returns: (B, E) embeddings (not normalised)."""
        w = torch.softmax(self.feature_weight, dim=-1)[:, None, None, None]
        x = self.instance_norm((w * hidden_states).sum(dim=0).transpose(1, 2) + 1e-6)  # (B, D, T)
        return self.ecapa(x)[0]


def split_checkpoint(state: dict, where: str) -> tuple[dict, dict]:
    """(WavLM tensors without their prefix, head tensors) of an official state dict."""
    anchor = next((k for k in state if k.endswith("post_extract_proj.weight")), None)
    if anchor is None or "layer1.conv.weight" not in state or "feature_weight" not in state:
        raise UserError(f"{where}: not a WavLM + ECAPA-TDNN verification checkpoint (no post_extract_proj, "
                        "layer1 or feature_weight tensors)")
    prefix = anchor[:-len("post_extract_proj.weight")]
    wavlm = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    head = {k: v for k, v in state.items() if not k.startswith(prefix) and not k.startswith("feature_extract.")}
    return wavlm, head


def wavlm_config(w: dict, where: str):
    """A transformers WavLMConfig read from the UniSpeech WavLM tensor shapes."""
    from transformers import WavLMConfig

    conv_key = re.compile(r"feature_extractor\.conv_layers\.(\d+)\.0\.weight")
    conv = sorted(int(m.group(1)) for k in w if (m := conv_key.fullmatch(k)))
    if len(conv) != len(WAVLM_STRIDES):
        raise UserError(f"{where}: {len(conv)} conv feature layers; WavLM has {len(WAVLM_STRIDES)}")
    layers = 1 + max(int(m.group(1)) for k in w if (m := re.match(r"encoder\.layers\.(\d+)\.", k)))
    layer_norm = "feature_extractor.conv_layers.1.2.1.weight" in w
    pos_v = w["encoder.pos_conv.0.weight_v"]
    hidden = w["post_extract_proj.weight"].shape[0]
    return WavLMConfig(
        hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=w["encoder.layers.0.self_attn.grep_a"].shape[1],
        intermediate_size=w["encoder.layers.0.fc1.weight"].shape[0],
        conv_dim=tuple(w[f"feature_extractor.conv_layers.{i}.0.weight"].shape[0] for i in conv),
        conv_kernel=tuple(w[f"feature_extractor.conv_layers.{i}.0.weight"].shape[2] for i in conv),
        conv_stride=WAVLM_STRIDES, conv_bias="feature_extractor.conv_layers.0.0.bias" in w,
        feat_extract_norm="layer" if layer_norm else "group", do_stable_layer_norm=layer_norm,
        num_conv_pos_embeddings=pos_v.shape[2], num_conv_pos_embedding_groups=hidden // pos_v.shape[1],
        num_buckets=w["encoder.layers.0.self_attn.relative_attention_bias.weight"].shape[0],
        max_bucket_distance=WAVLM_MAX_DISTANCE)


def rename_wavlm(w: dict, target_keys: set[str]) -> dict:
    """UniSpeech WavLM tensor names -> transformers WavLMModel names (only those the model has)."""
    out = {}
    for key, value in w.items():
        new = key
        if m := re.fullmatch(r"feature_extractor\.conv_layers\.(\d+)\.(0|2|2\.1)\.(weight|bias)", key):
            part = "conv" if m.group(2) == "0" else "layer_norm"
            new = f"feature_extractor.conv_layers.{m.group(1)}.{part}.{m.group(3)}"
        elif key.startswith("layer_norm."):
            new = "feature_projection." + key
        elif key.startswith("post_extract_proj."):
            new = key.replace("post_extract_proj.", "feature_projection.projection.")
        elif key.startswith("encoder.pos_conv.0."):
            g, v = (("weight_g", "weight_v") if "encoder.pos_conv_embed.conv.weight_g" in target_keys else
                    ("parametrizations.weight.original0", "parametrizations.weight.original1"))
            new = "encoder.pos_conv_embed.conv." + {"weight_g": g, "weight_v": v}.get(key.rsplit(".", 1)[1], "bias")
        elif m := re.fullmatch(r"(encoder\.layers\.\d+\.)(.+)", key):
            rest = m.group(2)
            for old, repl in _LAYER_RENAMES.items():
                if rest.startswith(old):
                    rest = repl + rest[len(old):]
                    break
            new = m.group(1) + rest
        elif key == "mask_emb":
            new = "masked_spec_embed"
        if new in target_keys:
            out[new] = value
    return out


@functools.lru_cache(maxsize=1)
def load_official_sv(path: str, device: str = "cpu"):
    """(WavLMModel, ECAPA head) from an official checkpoint file, in eval mode on `device`."""
    from transformers import WavLMModel

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 (pickle errors of many kinds; one line for the user)
        raise UserError(f"--speaker_model_dir {path}: cannot load as a tensor-only torch checkpoint "
                        f"({type(err).__name__}); re-save it as {{'model': state_dict}}") from None
    state = ckpt.get("model", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise UserError(f"--speaker_model_dir {path}: expected a dict holding a 'model' state dict")
    w, head_state = split_checkpoint(state, path)
    model = WavLMModel(wavlm_config(w, path))
    target = set(model.state_dict())
    renamed = rename_wavlm(w, target)
    missing = sorted(target - set(renamed) - {"masked_spec_embed"})
    if missing:
        raise UserError(f"--speaker_model_dir {path}: WavLM tensors missing from the checkpoint, e.g. {missing[0]}")
    model.load_state_dict(renamed, strict=False)
    head = EcapaHead(head_state, model.config.hidden_size)
    try:
        head.load_official(head_state)
    except RuntimeError as err:
        why = str(err).splitlines()[0]
        raise UserError(f"--speaker_model_dir {path}: ECAPA-TDNN head does not match: {why}") from None
    return model.eval().to(device), head.eval().to(device)


class OfficialSvEncoder(SpeakerEncoder):
    """The official Seed-TTS-eval SIM model (see the module docstring) from a local `wavlm_large_finetune.pth`."""

    def __init__(self, path: str, device: str = "cpu"):
        if not Path(path).is_file():
            raise UserError(f"--speaker_model_dir {path}: no such file")
        self.path, self.device = str(path), device

    def embed(self, wav: np.ndarray) -> np.ndarray:
        check_wavlm_input(wav)
        model, head = load_official_sv(self.path, self.device)
        x = torch.as_tensor(np.asarray(wav, dtype=np.float32), device=self.device)
        x = F.layer_norm(x, x.shape)[None]  # s3prl's WavLM-large input normalisation, (1, N)
        with torch.inference_mode():
            hidden = model(x, output_hidden_states=True).hidden_states  # L+1 x (1, T, D)
            emb = head(torch.stack(hidden))[0]
        return _unit(emb.cpu().numpy())

    def version(self) -> str:
        return (f"official Seed-TTS-eval verification model (WavLM + ECAPA-TDNN) from {self.path}, "
                "re-implemented over transformers WavLMModel")
