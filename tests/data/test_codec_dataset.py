"""Codec training segments: lengths, reference masking, determinism, SSL feature alignment, the resumable sampler."""
import numpy as np
import pytest
import torch

from tts_codec.data.codec_dataset import (
    CodecSegmentDataset,
    SegmentConfig,
    collate_codec_batch,
)
from tts_codec.data.datadir import DataDir
from tts_codec.data.samplers import ResumableStreamSampler, SampleKey
from tts_codec.errors import UserError
from tts_codec.testing.datadirs import make_data_dir

SR, HOP = 16000, 320
RAW = dict(sample_rate=SR, hop_length=HOP, volume_normalize=False, highpass_cutoff_freq=0.0)  # traceable samples


class RampSource:
    """Utterances whose samples are all distinct and non-zero, so positions can be traced through crops."""

    def __init__(self, durations):
        self.wavs = {f"utt{i}": np.linspace(0.01, 0.9, int(d * SR), dtype=np.float32) for i, d in enumerate(durations)}

    @property
    def utt_ids(self):
        return sorted(self.wavs)

    def load_audio(self, utt, target_sr=None):
        return self.wavs[utt]


def test_train_segment_lengths_are_multiples_of_four_hops():
    ds = CodecSegmentDataset(RampSource([7.3, 1.0]), SegmentConfig(**RAW), train=True)
    for index in range(2):
        item = ds[SampleKey(index, 7)]
        assert item["wav"].shape == (120 * HOP,)  # 2.4 s = 120 frames (a multiple of 4)
        assert item["ref_wav"].shape == (6 * SR,)
        assert item["ssl_wav"].shape == (121 * HOP + 2 * SR,) and item["ssl_context_frames"] == 50
    odd = CodecSegmentDataset(RampSource([3.0]), SegmentConfig(segment_duration=0.97, **RAW), train=True)
    assert odd[SampleKey(0, 1)]["wav"].shape[0] == 48 * HOP  # 48.5 frames -> 48


def test_reference_zeroes_the_target_region_of_long_utterances():
    ds = CodecSegmentDataset(RampSource([7.3]), SegmentConfig(**RAW), train=True)
    for seed in range(5):
        item = ds[SampleKey(0, seed)]
        target, ref = item["wav"].numpy(), item["ref_wav"].numpy()
        assert not np.isin(ref, target).any(), "target content leaked into the reference"
        lo = int(np.searchsorted(ds.source.wavs["utt0"], target[0]))  # where the target starts
        ref_start = int(np.searchsorted(ds.source.wavs["utt0"], ref[ref != 0][0])) - int(np.argmax(ref != 0))
        overlap = max(0, min(lo + target.size, ref_start + ref.size) - max(lo, ref_start))
        assert (ref == 0).sum() == overlap


def test_reference_is_not_masked_for_short_utterances_and_is_tiled():
    ds = CodecSegmentDataset(RampSource([4.0]), SegmentConfig(**RAW), train=True)  # 200 frames < 2 x 120
    item = ds[SampleKey(0, 3)]
    assert (item["ref_wav"] != 0).all() and np.isin(item["wav"].numpy(), item["ref_wav"].numpy()).all()
    always = CodecSegmentDataset(RampSource([4.0]), SegmentConfig(ref_mask_min_ratio=0, **RAW), train=True)
    assert (always[SampleKey(0, 3)]["ref_wav"] == 0).any()  # the official code's effective behaviour


def test_deterministic_given_the_sample_seed():
    ds = CodecSegmentDataset(RampSource([9.0]), SegmentConfig(**RAW), train=True)
    a, b, c = ds[SampleKey(0, 11)], ds[SampleKey(0, 11)], ds[SampleKey(0, 12)]
    assert torch.equal(a["wav"], b["wav"]) and torch.equal(a["ref_wav"], b["ref_wav"])
    assert not torch.equal(a["wav"], c["wav"])


def test_precomputed_features_are_cropped_to_the_segment_frames():
    src = RampSource([5.0])
    frames = 5 * SR // HOP - 1  # what a wav2vec2 conv stack gives
    feats = {"utt0": np.repeat(np.arange(frames, dtype=np.float32)[:, None], 3, axis=1)}
    ds = CodecSegmentDataset(src, SegmentConfig(**RAW), train=True, ssl_feats=feats)
    item = ds[SampleKey(0, 5)]
    first = int(item["ssl_feats"][0, 0])
    assert item["ssl_feats"].shape == (120, 3) and "ssl_wav" not in item
    assert torch.equal(item["ssl_feats"][:, 0], torch.arange(first, first + 120, dtype=torch.float32))
    assert item["wav"][0].item() == src.wavs["utt0"][first * HOP]  # audio and features are aligned
    with pytest.raises(UserError, match="lacks 1 utterance"):
        CodecSegmentDataset(RampSource([1.0, 2.0]), SegmentConfig(**RAW), train=True, ssl_feats=feats)


def test_on_the_fly_ssl_context_surrounds_the_segment():
    src = RampSource([5.0])
    ds = CodecSegmentDataset(src, SegmentConfig(**RAW), train=True)
    item = ds[SampleKey(0, 2)]
    ctx = 50 * HOP
    assert torch.equal(item["ssl_wav"][ctx:ctx + 120 * HOP], item["wav"])
    lo = int(np.searchsorted(src.wavs["utt0"], item["wav"][0].item()))
    assert torch.equal(item["ssl_wav"][:ctx], torch.from_numpy(src.wavs["utt0"][lo - ctx:lo]))  # real context


def test_validation_segments_are_deterministic_and_capped():
    ds = CodecSegmentDataset(RampSource([3.7, 20.0, 0.05]), SegmentConfig(**RAW), train=False)
    short, long_, tiny = ds[0], ds[1], ds[2]
    assert short["wav"].shape[0] == 184 * HOP  # 185 frames -> multiple of 4
    assert long_["wav"].shape[0] == 600 * HOP  # capped at 12 s
    assert tiny["wav"].shape[0] == 4 * HOP  # padded to one block
    assert torch.equal(ds[1]["ref_wav"], long_["ref_wav"]) and (long_["ref_wav"] != 0).all()
    assert "ssl_context_frames" in short and short["ssl_context_frames"] == 0
    with pytest.raises(UserError, match="valid_batch_size: 1"):
        collate_codec_batch([short, long_])


def test_collate_stacks_a_batch():
    ds = CodecSegmentDataset(RampSource([3.0, 4.0]), SegmentConfig(**RAW), train=True)
    batch = collate_codec_batch([ds[SampleKey(0, 1)], ds[SampleKey(1, 2)]])
    assert batch["utt_ids"] == ["utt0", "utt1"] and batch["wav"].shape == (2, 120 * HOP)
    assert batch["ref_wav"].shape == (2, 6 * SR) and batch["ssl_context_frames"] == 50


def test_segment_config_merges_sections_later_ones_winning():
    conf = SegmentConfig.from_sections({"sample_rate": 24000, "hop_length": 480}, {"segment_duration": 1.0},
                                       {"segment_duration": 0.5, "batch_size": 3})
    assert (conf.sample_rate, conf.hop_length, conf.segment_duration) == (24000, 480, 0.5)
    with pytest.raises(UserError, match="data.hop_length is missing"):
        SegmentConfig.from_sections({"sample_rate": 24000})


def test_data_dir_source(tmp_path):
    data = DataDir.load(make_data_dir(tmp_path, duration=3.0, num_speakers=1, utts_per_speaker=2))
    ds = CodecSegmentDataset(data, SegmentConfig(SR, HOP), train=True)
    item = ds[SampleKey(1, 0)]
    assert item["utt_id"] == "spk1-utt2" and item["wav"].shape == (120 * HOP,) and item["wav"].dtype == torch.float32
    assert item["wav"].abs().max() <= 1.0


def _take(sampler, n):
    it = iter(sampler)
    return [next(it) for _ in range(n)]


def test_sampler_is_seeded_resumable_and_sharded():
    full = _take(ResumableStreamSampler(10, seed=3), 25)
    assert _take(ResumableStreamSampler(10, seed=3), 25) == full
    assert _take(ResumableStreamSampler(10, seed=3, start=13), 12) == full[13:]  # resume mid-stream
    assert sorted(k.index for k in full[:10]) == list(range(10))  # each data epoch is a permutation
    assert [k.index for k in full[:10]] != [k.index for k in full[10:20]]  # reshuffled per data epoch
    assert _take(ResumableStreamSampler(10, seed=4), 10) != full[:10]
    ranks = [_take(ResumableStreamSampler(10, seed=3, rank=r, world_size=3), 3) for r in range(3)]
    seen = [k.index for keys in ranks for k in keys]
    assert len(set(seen)) == 9  # disjoint shards of one permutation, the 10th item dropped
    assert ResumableStreamSampler(10, seed=3, rank=1, world_size=3).key_at(2) == ranks[1][2]
    with pytest.raises(UserError, match="fewer than the 4 process"):
        ResumableStreamSampler(3, seed=0, world_size=4)
