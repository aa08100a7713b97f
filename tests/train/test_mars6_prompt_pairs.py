"""`data.prompt_pairs` (ours): a fraction of MARS6 training examples in a deep clone's layout (another utterance of
the same speaker first, as the prompt): the pair's text, patches and speaker, lengths known for bucketing, the same
pairs on every build (exact resume), validation left single, and named config mistakes."""
from __future__ import annotations

import numpy as np
import pytest

from tts_codec.data.table import read_table
from tts_codec.errors import UserError
from tts_codec.lm.mars6.examples import draw_prompts
from tts_codec.train.lm.mars6_task import build_mars6_datamodule

from .test_mars6_task import run, setup, tiny_config  # noqa: F401  (setup is a fixture)


def _data(setup, prompt_pairs, **data):  # noqa: F811
    tok, train, dev, codes, xvec = setup
    config = tiny_config(tok)
    config["data"].update({"prompt_pairs": prompt_pairs, "max_patches_per_batch": 200, **data})
    module = build_mars6_datamodule(config, train, dev, codes_dir=codes, xvector_dir=xvec)
    module.setup("fit")
    return module


def test_every_example_becomes_a_pair_of_one_speaker_in_the_deep_clone_layout(setup):  # noqa: F811
    single, paired = _data(setup, 0.0), _data(setup, 1.0)
    train, valid = paired.train_set, paired.valid_set
    utt2spk = read_table(setup[1] / "utt2spk")
    utts = [train.records.utt_ids[r] for r in train.keys]
    assert len(train.prompts) == len(train) == 8  # 2 speakers x 4 utterances: every one has a partner
    for i, j in train.prompts.items():
        assert j != i and utt2spk[utts[j]] == utt2spk[utts[i]]
        prompt, target, pair = single.train_set.example(j), single.train_set.example(i), train.example(i)
        sentences = f"{train.sentence(j)} {train.sentence(i)}"
        assert pair.text.tolist() == train.text.encode(sentences, 48000)
        assert np.array_equal(pair.patches, np.concatenate([prompt.patches[:-1], target.patches]))
        assert np.array_equal(pair.speaker, prompt.speaker)  # a clone conditions on the reference
        assert train.lengths[i] == len(pair.patches) == single.train_set.lengths[i] + len(prompt.patches) - 1
    assert valid.prompts == {}  # validation stays comparable across runs
    again = _data(setup, 1.0).train_set
    assert again.prompts == train.prompts  # drawn from the seed: a resumed run sees the same examples


def test_a_fraction_pairs_some_and_max_patches_bounds_the_pairs(setup):  # noqa: F811
    lengths = [10, 10, 10, 30]
    utts, spk = ["a", "b", "c", "d"], {"a": "s", "b": "s", "c": "t", "d": "s"}
    prompts = draw_prompts(utts, lengths, spk, 1.0, max_patches=25, seed=0)
    assert "c" not in [utts[j] for j in prompts.values()] and 2 not in prompts  # c's speaker has no other utterance
    assert 3 not in prompts and 3 not in prompts.values()  # 30 + 10 - 1 > 25
    assert set(prompts) == {0, 1} and prompts == {0: 1, 1: 0}
    some = draw_prompts([f"u{i}" for i in range(200)], [5] * 200, {f"u{i}": "s" for i in range(200)}, 0.3, None, 1)
    assert 40 < len(some) < 80  # about 30 % of 200
    assert draw_prompts(utts, lengths, spk, 0.0, None, 0) == {}


@pytest.mark.parametrize("value", [1.5, -0.1, "half", True])
def test_a_bad_fraction_is_refused_by_name(setup, value):  # noqa: F811
    with pytest.raises(UserError, match="data.prompt_pairs"):
        _data(setup, value)


def test_pairs_need_speakers():
    with pytest.raises(UserError, match="data.prompt_pairs: no utt2spk entry"):
        draw_prompts(["a", "b"], [3, 3], {}, 0.5, None, 0)


def test_a_run_with_pairs_trains(setup, tmp_path):  # noqa: F811
    config = tiny_config(setup[0], max_steps=2)
    config["data"].update({"prompt_pairs": 0.5, "max_patches_per_batch": 60})
    task = run(config, setup, tmp_path / "exp")
    assert task.trainer.global_step == 2
