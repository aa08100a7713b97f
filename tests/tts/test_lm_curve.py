"""text_reliance on crafted LMs: one that predicts the semantic tokens only after its own transcript has a large
text_gain, one that predicts them whatever the text says has none; the losses cover exactly the semantic tokens."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tts_codec.eval.protocols import MetaEntry
from tts_codec.lm.spark.vocab import load_spark_vocab
from tts_codec.testing.spark_lm import SAMPLE_TEXTS, make_spark_tokenizer
from tts_codec.tts.lm_curve import text_reliance


class OracleLM(torch.nn.Module):
    """Puts logit `peak` on the true next token (read from the input: teacher forcing) when `reads(prompt)` says the
    prompt is right, else gives every token the same logit."""

    def __init__(self, vocab_size: int, reads, peak: float = 10.0):
        super().__init__()
        self.vocab_size, self.reads, self.peak = vocab_size, reads, peak

    def forward(self, ids: torch.Tensor):
        logits = torch.zeros(1, ids.shape[1], self.vocab_size)
        if self.reads(ids[0].tolist()):
            logits[0, torch.arange(ids.shape[1] - 1), ids[0, 1:]] = self.peak
        return SimpleNamespace(logits=logits)


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    return load_spark_vocab(make_spark_tokenizer(tmp_path_factory.mktemp("tok")))


def _case(vocab):
    rng = np.random.default_rng(0)
    entries = [MetaEntry(f"u{i}", "", None, SAMPLE_TEXTS[i]) for i in range(3)]
    tokens = {e.utt: {"semantic": rng.integers(0, 1024, 20 + 5 * i), "global": rng.integers(0, 4096, (1, 32))}
              for i, e in enumerate(entries)}
    return entries, tokens


def _contains(ids: list[int], pieces: tuple[int, ...]) -> bool:
    return any(tuple(ids[i:i + len(pieces)]) == pieces for i in range(len(ids) - len(pieces) + 1))


def test_an_lm_that_reads_its_text_gains_and_one_that_does_not_gains_nothing(vocab):
    entries, tokens = _case(vocab)
    size = len(vocab)
    # reads: right only when the prompt holds the transcript that belongs to these semantic tokens
    own = {}
    for e in entries:
        own[tuple(vocab.semantic_ids(tokens[e.utt]["semantic"])[:5])] = tuple(vocab.encode_text(e.infer_text))

    def reads(ids):
        for head, text in own.items():
            if _contains(ids, head):
                return _contains(ids, text)
        return False

    right = -math.log(math.exp(10.0) / (math.exp(10.0) + size - 1))  # CE of a peaked, correct prediction
    figures = text_reliance(OracleLM(size, reads), vocab, entries, tokens)
    assert figures["own_text_loss"] == pytest.approx(right, rel=1e-4)
    assert figures["text_gain"] == pytest.approx(math.log(size) - right, rel=1e-4)  # uniform after the wrong text

    deaf = text_reliance(OracleLM(size, lambda ids: True), vocab, entries, tokens)
    assert deaf["own_text_loss"] == pytest.approx(right, rel=1e-4) and deaf["text_gain"] == pytest.approx(0, abs=1e-6)


def test_one_utterance_has_no_other_text_to_compare(vocab):
    entries, tokens = _case(vocab)
    assert text_reliance(OracleLM(len(vocab), lambda ids: True), vocab, entries[:1], tokens) == {}
