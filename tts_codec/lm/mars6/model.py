"""The MARS6 network (mars6_snac.md §4): speaker token + text encoder, 12 Hz global decoder over patch embeddings,
local decoder expanding each global vector into the patch's tokens. Teacher-forced `forward` for training, and
cached / uncached single-step functions for decoding (`tts_codec.lm.mars6.decoding`)."""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import nn

from tts_codec.lm.mars6.blocks import BlockStep, KVCache, ScaledSinusoid, Stack, SwiGLU
from tts_codec.lm.mars6.config import Mars6Config


class Memory(NamedTuple):
    """Encoder output: states (B, M, D) and mask (B, M) True = real position (M = text tokens + 2)."""

    states: torch.Tensor
    mask: torch.Tensor


class SpeakerConditioning(nn.Module):
    """Speaker embedding (+ optional style embedding) -> one encoder token; learned null embeddings replace them
    under conditioning dropout and for the unconditional branch of classifier-free guidance."""

    def __init__(self, cfg: Mars6Config):
        super().__init__()
        half = cfg.dim // 2
        self.speaker = nn.Sequential(nn.Linear(cfg.speaker_dim, half), SwiGLU(half, cfg.dim))
        self.speaker_null = nn.Parameter(torch.zeros(cfg.speaker_dim))
        self.style = nn.Sequential(nn.Linear(cfg.style_dim, half), SwiGLU(half, cfg.dim)) if cfg.style_dim else None
        self.style_null = nn.Parameter(torch.zeros(cfg.style_dim)) if cfg.style_dim else None
        self.join = nn.Linear(2 * cfg.dim, cfg.dim) if cfg.style_dim else None

    def forward(self, speaker: torch.Tensor, style: torch.Tensor | None, drop: torch.Tensor) -> torch.Tensor:
        """speaker (B, S), style (B, C) or None (= null), drop (B,) bool -> (B, D)."""
        speaker = torch.where(drop[:, None], self.speaker_null.to(speaker.dtype), speaker)
        token = self.speaker(speaker)
        if self.style is None:
            return token
        if style is None:
            style = self.style_null.expand(len(speaker), -1)
        style = torch.where(drop[:, None], self.style_null.to(style.dtype), style)
        return self.join(torch.cat([token, self.style(style)], dim=-1))


class PatchEmbedding(nn.Module):
    """(B, S, P) patch ids -> (B, S, D): per-token embeddings plus a scaled sinusoid of the flattened position
    P*t + j (the global decoder's only positional signal), concatenated and projected."""

    def __init__(self, cfg: Mars6Config):
        super().__init__()
        self.patch_size = cfg.patch_size
        width = 2 * cfg.dim // cfg.patch_size
        self.embed = nn.Embedding(cfg.vocab_size, width, padding_idx=cfg.eos_id)
        self.position = ScaledSinusoid(width)
        self.proj = nn.Linear(width * cfg.patch_size, cfg.dim, bias=False)

    def forward(self, patches: torch.Tensor, first: int = 0) -> torch.Tensor:
        """`first`: index of the first patch in the utterance (cached decoding embeds one patch at a time)."""
        b, s, p = patches.shape
        pos = torch.arange(first * p, (first + s) * p, device=patches.device).view(s, p)
        emb = self.embed(patches)
        x = emb + self.position(pos).to(emb.dtype)  # (B, S, P, W)
        return self.proj(x.reshape(b, s, -1))


class Mars6(nn.Module):
    """The MARS6 LM.

    Args:
        cfg: sizes (see `Mars6Config`).
    """

    def __init__(self, cfg: Mars6Config):
        super().__init__()
        self.cfg = cfg
        d = cfg.dim
        self.text_embed = nn.Embedding(cfg.text_vocab, d)
        self.text_position = ScaledSinusoid(d)
        self.lang_embed, self.lang_memory = nn.Embedding(cfg.num_langs, d), nn.Embedding(cfg.num_langs, d)
        self.conditioning = SpeakerConditioning(cfg)
        self.encoder = Stack(cfg.encoder_layers, d, cfg.heads, cfg.ffn, causal=False, dropout=cfg.dropout)
        self.bos = nn.Parameter(torch.randn(d) * 0.02)
        self.patch_embed = PatchEmbedding(cfg)
        self.global_decoder = Stack(cfg.global_layers, d, cfg.heads, cfg.ffn, causal=True, cross=True,
                                    dropout=cfg.dropout)
        self.to_local = nn.Linear(d, d)
        self.local_embed = nn.Embedding(cfg.vocab_size, d, padding_idx=cfg.eos_id)
        self.local_position = nn.Embedding(cfg.patch_size, d)
        self.local_decoder = Stack(cfg.local_layers, d, cfg.heads, cfg.ffn, causal=True, dropout=cfg.dropout)
        self.head = nn.Linear(d, cfg.vocab_size, bias=False)

    # ------------------------------------------------------------------ encoder
    def encode(self, text: torch.Tensor, text_mask: torch.Tensor, speaker: torch.Tensor,
               style: torch.Tensor | None = None, drop: torch.Tensor | None = None,
               lang: torch.Tensor | None = None) -> Memory:
        """text (B, N) ids, text_mask (B, N) True = real, speaker (B, S), style (B, C) -> Memory (B, N+2, D)."""
        b, n = text.shape
        lang = torch.zeros(b, dtype=torch.long, device=text.device) if lang is None else lang
        drop = torch.zeros(b, dtype=torch.bool, device=text.device) if drop is None else drop
        words = self.text_embed(text)
        words = words + self.text_position(torch.arange(n, device=text.device)).to(words.dtype)
        cond = self.conditioning(speaker, style, drop)
        x = torch.cat([self.lang_embed(lang)[:, None], cond[:, None], words], dim=1)
        mask = torch.cat([torch.ones(b, 2, dtype=torch.bool, device=text.device), text_mask.bool()], dim=1)
        states = self.encoder(x, key_mask=mask)
        states = torch.cat([states[:, :1] + self.lang_memory(lang)[:, None], states[:, 1:]], dim=1)
        return Memory(states, mask)

    # ------------------------------------------------------------------ teacher forcing
    def global_inputs(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, S, P) target patches -> (B, S, D) decoder inputs [BOS, emb(p_1), ..., emb(p_{S-1})]."""
        bos = self.bos.expand(patches.shape[0], 1, -1)
        return torch.cat([bos, self.patch_embed(patches[:, :-1])], dim=1)

    def local_states(self, hidden: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
        """hidden (N, D) global vectors, patches (N, P) their targets -> (N, P, D) local decoder outputs (teacher
        forced), the inputs of the output head."""
        x = torch.cat([self.to_local(hidden)[:, None], self.local_embed(patches[:, :-1])], dim=1)
        x = x + self.local_position.weight[: x.shape[1]]
        return self.local_decoder(x)

    def forward_states(self, text: torch.Tensor, text_mask: torch.Tensor, speaker: torch.Tensor,
                       patches: torch.Tensor, style: torch.Tensor | None = None, drop: torch.Tensor | None = None,
                       global_patches: torch.Tensor | None = None,
                       cross_weights: list[torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward` without the output head: local decoder outputs (B, S, P, D) and global hidden states (B, S, D).
        Training that scores only some rows of the head (`tts_codec.train.lm.level_loss`) starts from these."""
        memory = self.encode(text, text_mask, speaker, style, drop)
        past = patches if global_patches is None else global_patches
        hidden = self.global_decoder(self.global_inputs(past), memory_kv=self.global_decoder.memory_kv(
            memory.states), memory_mask=memory.mask, cross_weights=cross_weights)
        b, s, p = patches.shape
        states = self.local_states(hidden.reshape(b * s, -1), patches.reshape(b * s, p))
        return states.view(b, s, p, -1), hidden

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor, speaker: torch.Tensor, patches: torch.Tensor,
                style: torch.Tensor | None = None, drop: torch.Tensor | None = None,
                global_patches: torch.Tensor | None = None,
                cross_weights: list[torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits (B, S, P, V) for target patches (B, S, P) (EOS-padded), and the global hidden
        states (B, S, D). `global_patches` (default `patches`) are the past patches the global decoder reads: training
        may pass a corrupted copy (`tts_codec.train.lm.mars6_task.corrupt_patch_inputs`). `cross_weights` receives
        the global decoder's cross-attention probabilities per layer, (B, H, S, M) (guided attention)."""
        states, hidden = self.forward_states(text, text_mask, speaker, patches, style, drop, global_patches,
                                             cross_weights)
        return self.head(states), hidden

    # ------------------------------------------------------------------ decoding steps
    def global_step(self, inputs: torch.Tensor, memory: Memory, memory_kv, caches: list[KVCache] | None,
                    steps: list[BlockStep] | None = None) -> torch.Tensor:
        """Decoder outputs (B, q, D) for the next `q` global inputs (B, q, D); without caches `inputs` must be the
        whole sequence so far. `steps` (`global_decoder.new_steps()`) run single positions faster, same outputs."""
        if steps is not None and caches is not None and inputs.shape[1] == 1:
            return self.global_decoder.step(inputs, caches, steps, memory_kv, memory.mask)
        return self.global_decoder(inputs, caches=caches, memory_kv=memory_kv, memory_mask=memory.mask)

    def local_step(self, inputs: torch.Tensor, first: int, caches: list[KVCache] | None,
                   head: Callable[[torch.Tensor], torch.Tensor] | None = None,
                   steps: list[BlockStep] | None = None) -> torch.Tensor:
        """Logits (B, V) of the token after local inputs (B, q, D) that start at patch position `first`; `head`
        (e.g. a scorer of some rows of the output matrix, `decoding.PositionHeads`) replaces the full head;
        `steps` (`local_decoder.new_steps()`) run single positions faster, same outputs."""
        x = inputs + self.local_position.weight[first:first + inputs.shape[1]]
        if steps is not None and caches is not None and inputs.shape[1] == 1:
            last = self.local_decoder.step(x, caches, steps)[:, -1]
        else:
            last = self.local_decoder(x, caches=caches)[:, -1]
        return (head or self.head)(last)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
