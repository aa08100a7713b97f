"""Guided attention for MARS6's cross-attention (ours, off by default; Tachibana et al. 2018, "Efficiently trainable
text-to-speech ... with guided attention", the DC-TTS loss): a penalty on attention far from the text-audio diagonal.

A small encoder-decoder trained on little data learns to read its text late, because nothing tells its
cross-attention where to look; speech is read in order, so patch s of S should attend near text token n of N with
n / N close to s / S. The penalty on attention weight a[s, n] is

    w[s, n] = 1 - exp(-((n + 1/2) / N - (s + 1/2) / S)^2 / (2 sigma^2)),

averaged over the heads and rows that are guided: loss = sum_{s, n} a[s, n] w[s, n] / (guided rows). N counts the
real text tokens of the memory (the quality prefix and the end token included), S the target patches (the EOS row
included). Attention on the two conditioning slots before the text (language and speaker) costs 1, as text far
from the diagonal: free, they were a place to park every head at zero cost (a first mini run's term fell to 0.000
within 30 steps while the text went unread), and the encoder mixes the speaker into the text states anyway; leave
some heads unguided (`heads`) to read them directly. Inference is unchanged: the term only shapes training."""
from __future__ import annotations

from typing import Any

import torch

from tts_codec.errors import UserError

PREFIX = 2  # memory slots before the text: the language and speaker tokens (`Mars6.encode`)
KEYS = ("sigma", "heads")


def diagonal_penalty(text_lengths: torch.Tensor, patch_lengths: torch.Tensor, text_slots: int, patch_slots: int,
                     sigma: float) -> torch.Tensor:
    """(B, patch_slots, text_slots) penalties w[s, n] of each row's real region, 0 outside it (padding)."""
    s = torch.arange(patch_slots, device=patch_lengths.device, dtype=torch.float32)
    n = torch.arange(text_slots, device=text_lengths.device, dtype=torch.float32)
    big_s = patch_lengths.to(torch.float32)[:, None, None]
    big_n = text_lengths.to(torch.float32)[:, None, None]
    gap = (n[None, None, :] + 0.5) / big_n - (s[None, :, None] + 0.5) / big_s
    penalty = 1.0 - torch.exp(-gap.square() / (2.0 * sigma ** 2))
    real = (s[None, :, None] < big_s) & (n[None, None, :] < big_n)
    return penalty * real


def guided_attention_loss(weights: list[torch.Tensor], text_mask: torch.Tensor, patch_mask: torch.Tensor,
                          sigma: float = 0.2, heads: int | None = None) -> torch.Tensor:
    """The penalty (module docstring) of cross-attention `weights`, one (B, H, S, PREFIX + N) tensor per layer, for
    text_mask (B, N) and patch_mask (B, S) (True = real); `heads`: only the first `heads` heads of each layer are
    guided (None = all)."""
    total, rows = guided_attention_sums(weights, text_mask, patch_mask, sigma, heads)
    return total / max(rows, 1)


def guided_attention_sums(weights: list[torch.Tensor], text_mask: torch.Tensor, patch_mask: torch.Tensor,
                          sigma: float = 0.2, heads: int | None = None) -> tuple[torch.Tensor, int]:
    """(summed penalty, guided rows) of `guided_attention_loss`, for averages over several batches."""
    text_lengths, patch_lengths = text_mask.sum(1), patch_mask.sum(1)
    total, rows = weights[0].new_zeros(()), 0
    for layer in weights:
        guided = layer[:, :heads] if heads else layer
        b, h, s, m = guided.shape
        penalty = diagonal_penalty(text_lengths, patch_lengths, m - PREFIX, s, sigma)
        real_rows = torch.arange(s, device=guided.device)[None, :] < patch_lengths[:, None]  # (B, S)
        conditioning = guided[..., :PREFIX].float().sum(-1) * real_rows[:, None]
        total = total + (guided[..., PREFIX:].float() * penalty[:, None]).sum() + conditioning.sum()
        rows += h * int(patch_lengths.sum())
    return total, rows


def guided_attention_settings(config: dict[str, Any], weight: float, heads_per_layer: int) -> dict[str, Any]:
    """{sigma, heads} of the optional `guided_attention:` section, checked against the weight
    `loss_weights.guided_attention` and the model's heads; a section without a positive weight is refused."""
    section = config.get("guided_attention")
    if section is None:
        return {"sigma": 0.2, "heads": None}
    if not isinstance(section, dict):
        raise UserError("config guided_attention: a mapping with sigma and heads")
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise UserError(f"config guided_attention: unknown {unknown}; known: {list(KEYS)}")
    if not weight > 0:
        raise UserError("config guided_attention: given, but loss_weights.guided_attention is not positive (the "
                        "section would have no effect)")
    sigma = section.get("sigma", 0.2)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 < sigma <= 1:
        raise UserError(f"config guided_attention.sigma: a width in (0, 1] of the text-patch diagonal, got {sigma!r}")
    heads = section.get("heads")
    bad_heads = isinstance(heads, bool) or not isinstance(heads, int) or not 1 <= heads <= heads_per_layer
    if heads is not None and bad_heads:
        raise UserError(f"config guided_attention.heads: an integer in [1, {heads_per_layer}] (lm_conf.heads) or "
                        f"null for all, got {heads!r}")
    return {"sigma": float(sigma), "heads": heads}
