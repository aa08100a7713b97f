"""mars6_text_reliance on a tiny random MARS6: identical texts give text_gain exactly 0, own_text_loss is the
cross-entropy of the target's SNAC patch tokens within their levels computed by hand through the model (EOS row
not counted, the quality prefix given), and the model is evaluated in eval mode."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tts_codec.eval.protocols import MetaEntry
from tts_codec.lm.mars6.model_dir import load_model_dir
from tts_codec.lm.mars6.patches import group_patches, level_allowed
from tts_codec.testing.mars6 import SPEAKER_DIM, make_mars6_tokenizer, random_levels
from tts_codec.testing.mars6_dirs import make_mars6_dir
from tts_codec.testing.spark_lm import SAMPLE_TEXTS
from tts_codec.tts.mars6_curve import mars6_text_reliance


@pytest.fixture(scope="module")
def mars6(tmp_path_factory):
    root = tmp_path_factory.mktemp("mars6")
    model, text, _ = load_model_dir(make_mars6_dir(root / "lm", make_mars6_tokenizer(root / "tok")))
    return model, text


def _case(texts):
    rng = np.random.default_rng(0)
    entries = [MetaEntry(f"u{i}", "", None, t) for i, t in enumerate(texts)]
    codes = {e.utt: random_levels(5 + i, rng) for i, e in enumerate(entries)}
    speakers = {e.utt: rng.standard_normal(SPEAKER_DIM).astype(np.float32) for e in entries}
    return entries, codes, speakers


def _by_hand(model, text, sentence, levels, speaker, quality=48000) -> float:
    cfg = model.cfg
    patches = torch.from_numpy(group_patches(levels, cfg.levels, cfg.codebook_size))[None]
    ids = torch.tensor([text.encode(sentence, quality)])
    with torch.no_grad():
        logits, _ = model.eval()(ids, torch.ones_like(ids, dtype=torch.bool), torch.from_numpy(speaker)[None],
                                 patches)
    real = patches[0, :-1]  # the EOS row is not counted
    allowed = level_allowed(cfg.levels, cfg.codebook_size)  # each position within its level + EOS, as decoding
    logits = logits.masked_fill(~allowed, float("-inf"))
    return float(torch.nn.functional.cross_entropy(logits[0, :-1].reshape(-1, logits.shape[-1]), real.reshape(-1)))


def test_identical_texts_gain_exactly_nothing(mars6):
    model, text = mars6
    entries, codes, speakers = _case([SAMPLE_TEXTS[0]] * 3)
    figures = mars6_text_reliance(model, text, entries, codes, speakers)
    assert figures["text_gain"] == 0.0 and figures["own_text_loss"] > 0


def test_losses_are_the_patch_cross_entropy_through_the_model(mars6):
    model, text = mars6
    entries, codes, speakers = _case(SAMPLE_TEXTS[:2])
    model.train()
    figures = mars6_text_reliance(model, text, entries, codes, speakers, quality=24000)
    assert not model.training  # evaluated in eval mode (conditioning is never dropped: no `drop` is passed)
    own = [_by_hand(model, text, e.infer_text, codes[e.utt], speakers[e.utt], 24000) for e in entries]
    other = [_by_hand(model, text, entries[1 - i].infer_text, codes[e.utt], speakers[e.utt], 24000)
             for i, e in enumerate(entries)]
    assert figures["own_text_loss"] == pytest.approx(np.mean(own), rel=1e-5)
    assert figures["text_gain"] == pytest.approx(np.mean(other) - np.mean(own), abs=1e-5)
    assert figures["text_gain"] != 0.0  # the text reaches the loss
    assert mars6_text_reliance(model, text, entries[:1], codes, speakers) == {}
