"""Factorised vector quantiser: project to a low-dim space, pick the nearest code by cosine, project back.

No EMA codebook update: the codebook learns through the codebook loss. `cluster_size` is an EMA of code counts used
to report active codes (official BiCodec behaviour). Ours, off by default (bicodec_spark.md §9 `dead_code_reset`):
in training, codes whose EMA count fell below `threshold_ema_dead_code` are re-initialised from random latents of
the current batch, so a small codebook trained briefly does not shrink to a few codes.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from tts_codec.nn.weight_norm import wn_conv1d


class FVQOutput(NamedTuple):
    """Result of `FactorizedVectorQuantizer.forward`.

    z_q: (B, D, T) quantised latent after the output projection (straight-through gradient to z_e).
    indices: (B, T) int64 code indices.
    z_e: (B, d, T) projected latent before quantisation (d = codebook_dim).
    commit_loss: () commitment * MSE(z_e, sg(codebook rows)).
    codebook_loss: () codebook_loss_weight * MSE(codebook rows, sg(z_e)).
    """

    z_q: torch.Tensor
    indices: torch.Tensor
    z_e: torch.Tensor
    commit_loss: torch.Tensor
    codebook_loss: torch.Tensor


class FactorizedVectorQuantizer(nn.Module):
    """Single-codebook factorised VQ (DAC/BigCodec style) with L2-normalised (cosine) code search.

    Args:
        input_dim: channels D of the (B, D, T) input.
        codebook_size: number of codes K.
        codebook_dim: code width d; WN 1x1 convs project D -> d -> D when d != D.
        commitment: weight of the commitment loss.
        codebook_loss_weight: weight of the codebook loss.
        decay: EMA decay of `cluster_size`.
        threshold_ema_dead_code: a code counts as active while its EMA count exceeds this.
        dead_code_reset: re-initialise dead codes from batch latents in training (ours; official: False).
    """

    def __init__(
        self,
        input_dim: int,
        codebook_size: int,
        codebook_dim: int,
        commitment: float = 0.25,
        codebook_loss_weight: float = 1.0,
        decay: float = 0.99,
        threshold_ema_dead_code: float = 2.0,
        dead_code_reset: bool = False,
    ):
        super().__init__()
        self.codebook_size = codebook_size
        self.codebook_dim = codebook_dim
        self.commitment = commitment
        self.codebook_loss_weight = codebook_loss_weight
        self.decay = decay
        self.threshold_ema_dead_code = threshold_ema_dead_code
        self.dead_code_reset = dead_code_reset
        if input_dim != codebook_dim:
            self.in_project = wn_conv1d(input_dim, codebook_dim, kernel_size=1)
            self.out_project = wn_conv1d(codebook_dim, input_dim, kernel_size=1)
        else:
            self.in_project = nn.Identity()
            self.out_project = nn.Identity()
        self.codebook = nn.Embedding(codebook_size, codebook_dim)
        self.register_buffer("cluster_size", torch.zeros(codebook_size))

    def nearest(self, z_e: torch.Tensor) -> torch.Tensor:
        """Indices (B, T) of the codes closest in cosine to `z_e` (B, d, T)."""
        encodings = F.normalize(z_e.transpose(1, 2).reshape(-1, self.codebook_dim))
        codebook = F.normalize(self.codebook.weight)
        # Same arithmetic as the official code so near-ties resolve identically.
        dist = (
            encodings.pow(2).sum(1, keepdim=True)
            - 2 * encodings @ codebook.t()
            + codebook.pow(2).sum(1, keepdim=True).t()
        )
        return (-dist).max(1)[1].reshape(z_e.shape[0], -1)

    def forward(self, z: torch.Tensor) -> FVQOutput:
        """Quantise `z` (B, D, T); see `FVQOutput`. Updates `cluster_size` in training mode."""
        z_e = self.in_project(z)
        indices = self.nearest(z_e)
        rows = self.codebook(indices).transpose(1, 2)  # (B, d, T)
        if self.training:
            with torch.no_grad():
                counts = torch.bincount(indices.flatten(), minlength=self.codebook_size).to(self.cluster_size)
                self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
                if self.dead_code_reset:
                    self.reset_dead_codes(z_e)
        commit_loss = F.mse_loss(z_e, rows.detach()) * self.commitment
        codebook_loss = F.mse_loss(rows, z_e.detach()) * self.codebook_loss_weight
        z_q = z_e + (rows - z_e).detach()
        return FVQOutput(self.out_project(z_q), indices, z_e, commit_loss, codebook_loss)

    @torch.no_grad()
    def reset_dead_codes(self, z_e: torch.Tensor) -> int:
        """Replace the codes whose EMA count is below the threshold by random latents of `z_e` (B, d, T).

        A re-initialised code gets twice the threshold as its count, so when never picked it is replaced again
        after ln 2 / (1 - decay) batches (69 at decay 0.99). Returns the number of codes replaced.
        """
        dead = (self.cluster_size < self.threshold_ema_dead_code).nonzero().flatten()
        if dead.numel() == 0:
            return 0
        latents = z_e.detach().transpose(1, 2).reshape(-1, self.codebook_dim)
        picks = torch.randint(latents.shape[0], (dead.numel(),), device=latents.device)
        self.codebook.weight.data[dead] = latents[picks].to(self.codebook.weight.dtype)
        self.cluster_size[dead] = 2 * self.threshold_ema_dead_code
        return int(dead.numel())

    def tokenize(self, z: torch.Tensor) -> torch.Tensor:
        """Code indices (B, T) int64 of `z` (B, D, T)."""
        return self.nearest(self.in_project(z))

    def detokenize(self, indices: torch.Tensor) -> torch.Tensor:
        """Projected codebook rows (B, D, T) of `indices` (B, T)."""
        return self.out_project(self.codebook(indices).transpose(1, 2))

    def active_codes(self) -> int:
        """Number of codes whose EMA usage exceeds `threshold_ema_dead_code`."""
        return int((self.cluster_size > self.threshold_ema_dead_code).sum())
