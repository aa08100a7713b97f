"""Codec training data: random fixed-length target segments with a same-utterance speaker reference (BiCodec §4.5).

Per utterance: volume normalisation (Spark-TTS `audio_volume_normalize`), 40 Hz biquad high-pass, length cut to a
multiple of `frames_multiple` hops; then a target segment (training: random 2.4 s; validation: the first up-to-12 s,
a multiple of `frames_multiple` hops) and a 6 s reference crop of the same utterance in which the target region is zeroed when the
utterance is longer than `ref_mask_min_ratio` x the segment, so the reference cannot leak the content.
SSL features come from a precomputed scp (cropped to the segment's frames) or, without one, the item carries the
segment plus `ssl_context_duration` of context per side for the trainer to run the SSL model on.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol, Sequence

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from tts_codec.data.dsp import highpass_biquad, volume_normalize_audio
from tts_codec.data.samplers import ResumableStreamSampler, SampleKey
from tts_codec.errors import UserError


class AudioSource(Protocol):
    """What the dataset needs from a data dir (`tts_codec.data.datadir.DataDir` fits)."""

    @property
    def utt_ids(self) -> list[str]: ...

    def load_audio(self, utt: str, target_sr: int | None = None) -> np.ndarray: ...


@dataclasses.dataclass
class SegmentConfig:
    """Segment settings; the rate and hop come from the codec, the other defaults are the official BiCodec values."""

    sample_rate: int
    hop_length: int
    frames_multiple: int = 4
    segment_duration: float = 2.4
    ref_segment_duration: float = 6.0
    max_val_duration: float = 12.0
    highpass_cutoff_freq: float = 40.0
    volume_normalize: bool = True
    ref_mask_min_ratio: float = 2.0  # 0 = always zero the target in the reference (what SparkVox's code does)
    ssl_context_duration: float = 1.0

    @classmethod
    def from_sections(cls, *sections: Mapping[str, Any]) -> "SegmentConfig":
        """Merge config sections (later ones win), keeping the keys that are fields; the rate and hop are required."""
        names = {f.name for f in dataclasses.fields(cls)}
        merged = {k: v for section in sections for k, v in section.items() if k in names}
        for key in ("sample_rate", "hop_length"):
            if key not in merged:
                raise UserError(f"config: data.{key} is missing (it normally comes from the codec)")
        return cls(**merged)

    def frames(self, seconds: float) -> int:
        """Whole frames in `seconds`, rounded down to a multiple of `frames_multiple`."""
        frames = int(round(seconds * self.sample_rate)) // self.hop_length
        return frames // self.frames_multiple * self.frames_multiple


def preprocess_audio(wav: np.ndarray, conf: SegmentConfig) -> np.ndarray:
    """Volume normalisation then the high-pass, over a whole utterance (the filter is causal, so cutting the
    result equals filtering the cut audio). Returns float32 (N,)."""
    wav = np.asarray(wav, dtype=np.float64)
    if conf.volume_normalize:
        wav = volume_normalize_audio(wav)
    if conf.highpass_cutoff_freq:
        wav = highpass_biquad(wav, conf.sample_rate, conf.highpass_cutoff_freq)
    return wav.astype(np.float32)


def _fit(array: np.ndarray, length: int) -> np.ndarray:
    """Trim or zero-pad the first axis of `array` to `length`."""
    if array.shape[0] >= length:
        return array[:length]
    return np.pad(array, [(0, length - array.shape[0])] + [(0, 0)] * (array.ndim - 1))


class CodecSegmentDataset(Dataset):
    """Items `{utt_id, wav (N,), ref_wav (N_ref,), ssl_feats (T, D) | ssl_wav (N + 2C,)}` as float32 tensors.

    Args:
        source: the data dir (anything with `utt_ids` and `load_audio(utt, target_sr)`).
        conf: segment settings.
        train: random segments, masked references, SSL context; else deterministic validation segments.
        ssl_feats: utt -> (T_utt, D) precomputed features at the hop rate (e.g. `load_scp_dict(...)`), or None.
    """

    def __init__(self, source: AudioSource, conf: SegmentConfig, train: bool,
                 ssl_feats: Mapping[str, np.ndarray] | None = None):
        self.source, self.conf, self.train, self.ssl_feats = source, conf, train, ssl_feats
        self.utt_ids = list(source.utt_ids)
        if not self.utt_ids:
            raise UserError(f"data dir {getattr(source, 'path', '')} has no utterances")
        if ssl_feats is not None:
            missing = [u for u in self.utt_ids if u not in ssl_feats]
            if missing:
                raise UserError(f"SSL feature scp lacks {len(missing)} utterance(s) of the data dir, "
                                f"e.g. {missing[0]!r}")
        self.segment_frames = conf.frames(conf.segment_duration)
        if self.segment_frames <= 0:
            raise UserError(f"data.segment_duration {conf.segment_duration} s is shorter than "
                            f"{conf.frames_multiple} hops of {conf.hop_length} samples")

    def __len__(self) -> int:
        return len(self.utt_ids)

    def _load(self, utt: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Preprocessed audio cut to whole `frames_multiple` blocks, and the matching feature frames."""
        conf, hop = self.conf, self.conf.hop_length
        try:
            wav = preprocess_audio(self.source.load_audio(utt, conf.sample_rate), conf)
        except UserError as err:  # e.g. NaN samples: the training log must say which utterance
            raise UserError(f"training utterance {utt}: {err}") from None
        feats = None
        frames = wav.shape[0] // hop
        if self.ssl_feats is not None:
            feats = np.asarray(self.ssl_feats[utt], dtype=np.float32)
            if not np.isfinite(feats).all():
                raise UserError(f"training utterance {utt}: its SSL features hold NaN or infinite values "
                                "(extract them again)")
            frames = feats.shape[0]  # the official loader fits the audio to the feature frames
        frames = frames // conf.frames_multiple * conf.frames_multiple
        return _fit(wav, frames * hop), (None if feats is None else feats[:frames])

    def __getitem__(self, key: SampleKey | int) -> dict[str, Any]:
        index, seed = (key.index, key.seed) if isinstance(key, SampleKey) else (int(key), None)
        rng = np.random.default_rng(seed) if self.train else None
        conf, hop, utt = self.conf, self.conf.hop_length, self.utt_ids[index]
        wav, feats = self._load(utt)
        frames = wav.shape[0] // hop
        if self.train:
            seg = self.segment_frames
        else:
            seg = max(conf.frames_multiple, min(frames // conf.frames_multiple * conf.frames_multiple,
                                                conf.frames(conf.max_val_duration)))
        if seg > frames:  # short utterance: zero-pad to one full segment
            wav = _fit(wav, seg * hop)
            feats = None if feats is None else _fit(feats, seg)
        start = int(rng.integers(0, frames - seg + 1)) if rng is not None and frames > seg else 0
        lo, hi = start * hop, (start + seg) * hop
        item: dict[str, Any] = {
            "utt_id": utt,
            "wav": torch.from_numpy(wav[lo:hi].copy()),
            "ref_wav": torch.from_numpy(self._reference(wav, lo, hi, frames > conf.ref_mask_min_ratio * seg, rng)),
        }
        if feats is not None:
            item["ssl_feats"] = torch.from_numpy(np.array(feats[start : start + seg], dtype=np.float32))  # a copy
        else:
            # One extra hop at the end: a 400/320-framed extractor (wav2vec2) then yields exactly N / hop frames
            # aligned like features of the whole utterance (frame t covers samples [t * hop, t * hop + 400)).
            ctx = int(round(conf.ssl_context_duration * conf.sample_rate)) // hop * hop if self.train else 0
            item["ssl_wav"] = torch.from_numpy(np.pad(wav, (ctx, ctx + hop))[lo : hi + 2 * ctx + hop].copy())
            item["ssl_context_frames"] = ctx // hop
        return item

    def _reference(self, wav: np.ndarray, lo: int, hi: int, mask: bool, rng: np.random.Generator | None) -> np.ndarray:
        """A `ref_segment_duration` crop of the utterance (tiled if short), target [lo, hi) zeroed if `mask`."""
        ref_len = int(round(self.conf.ref_segment_duration * self.conf.sample_rate))
        ref = wav.copy()
        if mask and self.train:
            ref[lo:hi] = 0.0
        if ref.shape[0] < ref_len:
            ref = np.tile(ref, 1 + ref_len // ref.shape[0])
        start = int(rng.integers(0, ref.shape[0] - ref_len + 1)) if rng is not None else 0
        return np.ascontiguousarray(ref[start : start + ref_len])


def collate_codec_batch(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack items into `{utt_ids, wav (B, N), ref_wav (B, N_ref), ssl_feats (B, T, D) | ssl_wav (B, N'), ...}`."""
    lengths = {item["wav"].shape[0] for item in items}
    if len(lengths) > 1:
        raise UserError(f"a batch mixes segment lengths {sorted(lengths)}; set data.valid_batch_size: 1 "
                        "(validation segments follow the utterance length)")
    batch: dict[str, Any] = {"utt_ids": [item["utt_id"] for item in items]}
    for name in ("wav", "ref_wav", "ssl_feats", "ssl_wav"):
        if name in items[0]:
            batch[name] = torch.stack([item[name] for item in items])
    if "ssl_context_frames" in items[0]:
        batch["ssl_context_frames"] = items[0]["ssl_context_frames"]
    return batch


class CodecDataModule(L.LightningDataModule):
    """Train/validation loaders; the training stream is rank-sharded and restarts where a resumed run stopped.

    The restart position comes from the LightningModule's `batches_done` (batches trained so far, restored with the
    checkpoint), falling back to `trainer.global_step`.

    Args:
        train, valid: datasets (valid may be None).
        batch_size, valid_batch_size: per process.
        num_workers: loader worker processes.
        seed: seed of the sample stream.
    """

    def __init__(self, train: CodecSegmentDataset, valid: CodecSegmentDataset | None, batch_size: int,
                 valid_batch_size: int = 1, num_workers: int = 0, seed: int = 0):
        super().__init__()
        self.train_set, self.valid_set = train, valid
        self.batch_size, self.valid_batch_size = batch_size, valid_batch_size
        self.num_workers, self.seed = num_workers, seed

    def _loader(self, dataset: Dataset, batch_size: int, sampler=None) -> DataLoader:
        return DataLoader(
            dataset, batch_size=batch_size, sampler=sampler, shuffle=False, drop_last=sampler is not None,
            collate_fn=collate_codec_batch, num_workers=self.num_workers, persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
            # Own generator: creating the iterator must not draw from the global RNG (exact resume).
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        done = int(getattr(trainer.lightning_module, "batches_done", trainer.global_step))
        sampler = ResumableStreamSampler(len(self.train_set), self.seed, trainer.global_rank, trainer.world_size,
                                         start=done * self.batch_size)
        return self._loader(self.train_set, self.batch_size, sampler)

    def val_dataloader(self) -> DataLoader | list:
        if self.valid_set is None:
            return []
        rank, world = self.trainer.global_rank, self.trainer.world_size
        return self._loader(Subset(self.valid_set, range(rank, len(self.valid_set), world)), self.valid_batch_size)
