"""ORPO (Hong et al. 2024, mars6_snac.md §7): preference fine-tuning without a reference model.

    L = NLL(chosen) + lambda x -log sigmoid(log odds(y_w) - log odds(y_l)),  odds(y) = P(y) / (1 - P(y)),

with P(y) = exp(mean token log-probability of y). For MARS6 a sequence is the flattened patch tokens (EOS row
included) of one candidate under the prompt's text and speaker conditioning.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tts_codec.data.lm_dataset import IGNORE


def log_odds(mean_logp: torch.Tensor) -> torch.Tensor:
    """log(P / (1 - P)) for P = exp(mean_logp) (B,), stable for P near 0 and 1."""
    mean_logp = mean_logp.clamp(max=-1e-6)
    return mean_logp - torch.log(-torch.expm1(mean_logp))


def orpo_loss(chosen_nll: torch.Tensor, chosen_logp: torch.Tensor, rejected_logp: torch.Tensor,
              lam: float = 0.1) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The batch-mean ORPO loss and its parts.

    Args:
        chosen_nll: (B,) training NLL of the chosen sequences (mean over their tokens).
        chosen_logp, rejected_logp: (B,) mean token log-probabilities of chosen and rejected sequences.
        lam: weight of the odds-ratio term (TRL's `beta`; 0.1 is typical).
    """
    ratio = -F.logsigmoid(log_odds(chosen_logp) - log_odds(rejected_logp))
    nll = chosen_nll.mean()
    return nll + lam * ratio.mean(), {"nll": nll.detach(), "odds_ratio": ratio.mean().detach()}


def mean_token_logp(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B,) mean log-probability of the non-IGNORE targets; logits (B, ..., V), targets (B, ...)."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    valid = targets != IGNORE
    picked = logp.gather(-1, targets.clamp(min=0)[..., None])[..., 0] * valid
    dims = tuple(range(1, targets.dim()))
    return picked.sum(dims) / valid.sum(dims).clamp(min=1)
