"""WER/CER: jiwer error counts, per utterance and corpus-level, and the ASR-based WER scorer (evaluation.md §4, §9.1).

The Seed-TTS-eval headline is the *mean of per-utterance WER*; the corpus-level rate (errors summed over reference
words summed) is reported beside it in summary.json.
"""
from __future__ import annotations

from importlib import metadata
from typing import NamedTuple, Sequence

import jiwer

from tts_codec.eval.asr import ASR_SR, WhisperAsr
from tts_codec.eval.normalize import simple_normalize, whisper_en_normalize
from tts_codec.eval.scoring import EvalItem, EvalOptions, Scorer, ScoreFailure, UttResult


class ErrorCounts(NamedTuple):
    """Edit operations of one alignment; `errors / ref_len` is the error rate."""

    errors: int
    ref_len: int

    @property
    def rate(self) -> float:
        return self.errors / self.ref_len


def word_errors(ref: str, hyp: str) -> ErrorCounts:
    """Substitutions + deletions + insertions between already-normalised word strings.

    Raises:
        ValueError: if `ref` has no words (an error rate is undefined).
    """
    if not ref.split():
        raise ValueError("empty reference text")
    if not hyp.split():
        return ErrorCounts(len(ref.split()), len(ref.split()))
    out = jiwer.process_words(ref, hyp)
    return ErrorCounts(out.substitutions + out.deletions + out.insertions, len(ref.split()))


def char_errors(ref: str, hyp: str) -> ErrorCounts:
    """Character-level counterpart of `word_errors` (spaces count as characters, as jiwer.cer does)."""
    if not ref.strip():
        raise ValueError("empty reference text")
    if not hyp.strip():
        return ErrorCounts(len(ref), len(ref))
    out = jiwer.process_characters(ref, hyp)
    return ErrorCounts(out.substitutions + out.deletions + out.insertions, len(ref))


def wer(ref: str, hyp: str) -> float:
    """Word error rate of one utterance (may exceed 1 with insertions)."""
    return word_errors(ref, hyp).rate


def corpus_rate(counts: Sequence[ErrorCounts]) -> float:
    """Corpus-level rate: total errors / total reference length (long utterances weigh more)."""
    total = sum(c.ref_len for c in counts)
    return sum(c.errors for c in counts) / total if total else float("nan")


class WerScorer(Scorer):
    """ASR the generated audio and score it against the item text.

    Columns: `wer` ("simple" normaliser, the headline), `wer_en` (whisper EnglishTextNormalizer), `cer` (simple).
    Side files: hyp.txt (raw ASR output) and ref.txt (raw reference text), so errors can be audited.
    """

    name = "wer"
    columns = {"wer": False, "wer_en": False, "cer": False}

    def __init__(self, options: EvalOptions | None = None) -> None:
        super().__init__(options)
        o = self.options
        self.asr = WhisperAsr(o.asr_model_dir, beam_size=o.asr_beam_size, language=o.asr_language, threads=o.asr_threads,
                              device=o.device)

    def model_version(self) -> str:
        return f"{self.asr.version()}; normalisers simple + whisper_normalizer {metadata.version('whisper-normalizer')} EnglishTextNormalizer; jiwer {metadata.version('jiwer')}"

    def score_one(self, item: EvalItem) -> UttResult:
        if not item.text or not simple_normalize(item.text):
            raise ScoreFailure("no reference text")
        hyp = self.asr.transcribe(item.audio("gen", ASR_SR))
        return UttResult(values=text_error_rates(item.text, hyp), extras={"hyp.txt": hyp, "ref.txt": item.text})


def text_error_rates(ref: str, hyp: str) -> dict[str, float]:
    """The three WerScorer columns for a raw reference and hypothesis (normalised here)."""
    out = {"wer": word_errors(simple_normalize(ref), simple_normalize(hyp)).rate,
           "cer": char_errors(simple_normalize(ref), simple_normalize(hyp)).rate}
    ref_en = whisper_en_normalize(ref)
    if ref_en:
        out["wer_en"] = word_errors(ref_en, whisper_en_normalize(hyp)).rate
    return out


def corpus_rates(refs: Sequence[str], hyps: Sequence[str]) -> dict[str, float]:
    """Corpus-level `wer`, `wer_en`, `cer` (errors summed / reference lengths summed) of raw text pairs."""
    pairs = [(simple_normalize(r), simple_normalize(h)) for r, h in zip(refs, hyps)]
    pairs = [(r, h) for r, h in pairs if r]
    pairs_en = [(whisper_en_normalize(r), whisper_en_normalize(h)) for r, h in zip(refs, hyps)]
    return {
        "wer": corpus_rate([word_errors(r, h) for r, h in pairs]),
        "cer": corpus_rate([char_errors(r, h) for r, h in pairs]),
        "wer_en": corpus_rate([word_errors(r, h) for r, h in pairs_en if r]),
    }
