"""MARS6 training examples: per utterance the encoder ids (quality prefix + text), the (S+1, P) target patches
(the SNAC levels grouped, then the EOS row) and the stage-3 speaker embedding; batched into micro-batches by the
resumable `StepStream` of the LM data module, bucketed by patch count."""
from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from tts_codec.data.ark import load_scp_dict
from tts_codec.data.lm_dataset import IGNORE, UtteranceRecords
from tts_codec.data.token_file import CodesInfo
from tts_codec.errors import UserError
from tts_codec.lm.mars6.config import Mars6Config
from tts_codec.lm.mars6.patches import group_patches
from tts_codec.lm.mars6.text import Mars6Text

XVECTOR_SCP = "xvector.scp"


class Mars6Example(NamedTuple):
    text: np.ndarray  # (N,) encoder ids
    patches: np.ndarray  # (S + 1, P) with the EOS row
    speaker: np.ndarray  # (speaker_dim,) float32


def level_streams(info: CodesInfo, cfg: Mars6Config, where: str) -> list[str]:
    """The token streams of a codes dir, coarsest level first (largest `stride`), checked against the model."""
    streams = sorted(info.streams, key=lambda n: -info.streams[n].stride)
    strides = [info.streams[n].stride for n in streams]
    expected = [max(cfg.levels) // n for n in cfg.levels]
    if strides != expected or any(info.streams[n].codebook_size != cfg.codebook_size for n in streams):
        raise UserError(f"{where}: streams {streams} with strides {strides} do not fit lm_conf levels "
                        f"{list(cfg.levels)} x {cfg.codebook_size} codes (MARS6 needs SNAC-style multi-rate tokens)")
    return streams


def make_example(text: Mars6Text, cfg: Mars6Config, sentence: str, codes: Sequence[np.ndarray], speaker: Any,
                 quality: int = 48000, where: str = "speaker embedding") -> Mars6Example:
    """The training example of one utterance: `sentence` encoded with the `quality` prefix, its per-level `codes`
    (coarsest first) grouped into patches + the EOS row, and its speaker embedding (checked against
    `cfg.speaker_dim`; `where` names it in the error)."""
    speaker = np.asarray(speaker, dtype=np.float32).reshape(-1)
    if speaker.shape[0] != cfg.speaker_dim:
        raise UserError(f"{where} has a {speaker.shape[0]}-d embedding; lm_conf speaker_dim is {cfg.speaker_dim}")
    patches = group_patches(codes, cfg.levels, cfg.codebook_size)
    return Mars6Example(np.asarray(text.encode(sentence, quality)), patches, speaker)


class Mars6Dataset(Dataset):
    """Examples of `records` (text + tokens) with embeddings from `<xvector_dir>/xvector.scp`.

    Args:
        max_patches: utterances with more patches are dropped (counted in the log).
        quality: the quality prefix of every utterance (the source sample rate).
        prompt_pairs: the fraction of examples laid out as a deep clone (`prompt_pair`): another utterance of the
            same speaker (`utt2spk`) first, as the prompt. Partners are drawn once, from `seed`, so lengths are known
            for bucketing and a resumed run sees the same examples.
    """

    def __init__(self, records: UtteranceRecords, text: Mars6Text, cfg: Mars6Config, xvector_dir: str | Path,
                 quality: int = 48000, max_patches: int | None = None, prompt_pairs: float = 0.0,
                 utt2spk: dict[str, str] | None = None, seed: int = 0):
        scp = Path(xvector_dir) / XVECTOR_SCP
        if not scp.is_file():
            raise UserError(f"{scp}: not found; run stage 3 (extract_xvectors) for this set")
        self.records, self.text, self.cfg, self.quality = records, text, cfg, quality
        self.streams = level_streams(records.tokens.info, cfg, str(records.tokens.codes_dir))
        self.xvectors = load_scp_dict(scp)
        self.keys, lengths = [], []
        for r, utt in enumerate(records.utt_ids):
            if utt not in self.xvectors:
                continue
            steps = len(records.tokens[utt][self.streams[0]]) + 1
            if max_patches is None or steps <= max_patches:
                self.keys.append(r)
                lengths.append(steps)
        if not self.keys:
            raise UserError(f"{scp}: no utterance has tokens, text and an x-vector (or all exceed max_patches)")
        self.prompts: dict[int, int] = {}  # example index -> index of its prompt's example
        if prompt_pairs:
            self.prompts = draw_prompts([records.utt_ids[r] for r in self.keys], lengths, utt2spk or {},
                                        prompt_pairs, max_patches, seed)
            lengths = [n + (lengths[self.prompts[i]] - 1 if i in self.prompts else 0) for i, n in enumerate(lengths)]
        self.lengths = np.asarray(lengths, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.keys)

    def example(self, index: int) -> Mars6Example:
        target = self.single(index)
        if index not in self.prompts:
            return target
        first = self.prompts[index]
        sentences = [self.sentence(first), self.sentence(index)]
        return prompt_pair(self.text, self.single(first), target, sentences, self.quality)

    def sentence(self, index: int) -> str:
        """The transcript of example `index`'s utterance."""
        return self.records.text[self.records.utt_ids[self.keys[index]]]

    def single(self, index: int) -> Mars6Example:
        """The example of one utterance (no prompt)."""
        record = self.records[self.keys[index]]
        return make_example(self.text, self.cfg, record["text"], [record[s] for s in self.streams],
                            self.xvectors[record["utt"]], self.quality, f"{XVECTOR_SCP}: {record['utt']}")

    def __getitem__(self, key: tuple[int, int]) -> tuple[int, Mars6Example]:
        micro, index = key
        return micro, self.example(index)


def prompt_pair(text: Mars6Text, prompt: Mars6Example, target: Mars6Example, sentences: Sequence[str],
                quality: int = 48000) -> Mars6Example:
    """One example in a deep clone's layout (`tts_codec.tts.mars6`): the text is the prompt's transcript, a space
    and the target's; the patches are the prompt's (without its EOS row) then the target's; the speaker embedding is
    the prompt's, as a clone conditions on the reference. Why: trained on single utterances, the mini MARS6 gave
    the target after a prompt a coarse-token CE of 6.5 nats instead of 3.5 alone, and stopped early."""
    ids = np.asarray(text.encode(f"{sentences[0]} {sentences[1]}", quality))
    return Mars6Example(ids, np.concatenate([prompt.patches[:-1], target.patches]), prompt.speaker)


def draw_prompts(utts: Sequence[str], lengths: Sequence[int], utt2spk: dict[str, str], fraction: float,
                 max_patches: int | None, seed: int) -> dict[int, int]:
    """For a `fraction` of the utterances (drawn with `seed`), the index of a prompt: another utterance of the same
    speaker whose pair stays within `max_patches` (lengths count each EOS row); utterances without one stay
    single."""
    by_speaker: dict[str, list[int]] = {}
    for i, utt in enumerate(utts):
        if utt in utt2spk:
            by_speaker.setdefault(utt2spk[utt], []).append(i)
    if not by_speaker:
        raise UserError("data.prompt_pairs: no utt2spk entry for any training utterance (pairs are of one speaker)")
    rng = np.random.default_rng(seed)
    prompts: dict[int, int] = {}
    for i, utt in enumerate(utts):
        if rng.random() >= fraction or utt not in utt2spk:
            continue
        room = None if max_patches is None else max_patches - lengths[i] + 1
        candidates = [j for j in by_speaker[utt2spk[utt]] if j != i and (room is None or lengths[j] <= room)]
        if candidates:
            prompts[i] = int(candidates[rng.integers(len(candidates))])
    return prompts


def collate_examples(examples: list[Mars6Example], eos_id: int) -> dict[str, torch.Tensor]:
    """Right-padded batch: text (B, N) + text_mask, patches (B, S, P) EOS-padded, targets (IGNORE on padding),
    speaker (B, D)."""
    n, s = max(len(e.text) for e in examples), max(len(e.patches) for e in examples)
    p = examples[0].patches.shape[1]
    text = torch.zeros(len(examples), n, dtype=torch.long)
    mask = torch.zeros(len(examples), n, dtype=torch.bool)
    patches = torch.full((len(examples), s, p), eos_id, dtype=torch.long)
    targets = torch.full((len(examples), s, p), IGNORE, dtype=torch.long)
    for row, e in enumerate(examples):
        text[row, :len(e.text)], mask[row, :len(e.text)] = torch.from_numpy(e.text), True
        patches[row, :len(e.patches)] = targets[row, :len(e.patches)] = torch.from_numpy(e.patches)
    speaker = torch.from_numpy(np.stack([e.speaker for e in examples]))
    return {"text": text, "text_mask": mask, "patches": patches, "targets": targets, "speaker": speaker}


def collate_steps(items: list[tuple[int, Mars6Example]], eos_id: int) -> list[dict[str, Any]]:
    """(micro, example) pairs of one step -> one batch per micro-batch."""
    groups: dict[int, list[Mars6Example]] = {}
    for micro, example in items:
        groups.setdefault(micro, []).append(example)
    return [collate_examples(groups[m], eos_id) for m in sorted(groups)]
