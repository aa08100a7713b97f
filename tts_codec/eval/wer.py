"""WER/CER: jiwer error counts, per utterance and corpus-level, and the ASR-based WER scorer (evaluation.md §4, §9.1).

The Seed-TTS-eval headline is the *mean of per-utterance WER*; the corpus-level rate (errors summed over reference
words summed) is reported beside it in summary.json. Text rules per language (`text_error_rates`):
- en: `wer` over words after the chosen normaliser (`seed-tts` under the seed protocol, else `simple`), `wer_en`
  after whisper-normalizer's EnglishTextNormalizer, and `cer`: the character error rate of the same normalised
  English string (spaces count as characters, as jiwer.cer counts them); not an official figure.
- zh: `cer` only, the official rule: the hypothesis converted to simplified script (zhconv, `zh-cn`), punctuation
  deleted as in `seed-tts`, no lowercasing, then the error rate over characters (blanks dropped).
An empty hypothesis scores 1.0 (every reference token deleted), as jiwer counts it for the official scripts.
"""
from __future__ import annotations

from importlib import metadata
from typing import NamedTuple, Sequence

import jiwer

from tts_codec.data.table import read_table
from tts_codec.errors import UserError
from tts_codec.eval.asr import ASR_SR, WHISPER_WINDOW_S, WhisperAsr
from tts_codec.eval.normalize import get_normalizer, whisper_en_normalize, zh_chars
from tts_codec.eval.scoring import EvalItem, EvalOptions, Scorer, ScoreFailure, UttResult

TEXT_LANGS = ("en", "zh")


def default_text_norm(options: EvalOptions) -> str:
    """The normaliser of a run: --text_norm, else `seed-tts` under the seed rules, else `simple`."""
    return options.text_norm or ("seed-tts" if options.seed_rules else "simple")


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
    if not ref.strip():
        raise ValueError("empty reference text")
    # jiwer's default word transform (squeeze blank runs, strip, split on " ") as in the official compute_measures
    out = jiwer.process_words(ref, hyp)
    return ErrorCounts(out.substitutions + out.deletions + out.insertions, len(out.references[0]))


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
    """ASR the generated audio and score it against the item text (columns per language: see the module doc).

    Side files: hyp.txt (raw ASR output) and ref.txt (raw reference text), so errors can be audited.
    """

    name = "wer"
    columns = {"wer": False, "wer_en": False, "cer": False}
    worst = {"wer": 1.0, "wer_en": 1.0, "cer": 1.0}

    def __init__(self, options: EvalOptions | None = None) -> None:
        super().__init__(options)
        o = self.options
        if o.lang not in TEXT_LANGS:
            raise UserError(f"--lang {o.lang!r}: WER/CER rules exist for {', '.join(TEXT_LANGS)}")
        self.norm = default_text_norm(o)
        get_normalizer(self.norm)  # an unknown name fails before any audio is read
        language = o.asr_language or o.lang
        self.hyps = read_table(o.hyp_file, allow_empty_value=True) if o.hyp_file else None
        if o.lang == "zh" and not o.asr_model_dir and self.hyps is None:
            raise UserError("--lang zh needs a Chinese-capable ASR: give --asr_model_dir a local multilingual "
                            "CTranslate2 Whisper directory (e.g. large-v3) or --hyp_file transcripts (e.g. from the "
                            "official Paraformer-zh); the bundled tiny.en is English-only")
        self.asr = WhisperAsr(o.asr_model_dir, beam_size=o.asr_beam_size, language=language, threads=o.asr_threads,
                              device=o.device, compute_type=o.asr_compute_type,
                              max_seconds=WHISPER_WINDOW_S if o.seed_rules else None)

    def worst_values(self) -> dict[str, float]:
        return {"cer": 1.0} if self.options.lang == "zh" else dict(self.worst)

    def model_version(self) -> str:
        rule = ("zh: zhconv zh-cn + seed-tts punctuation, CER over characters" if self.options.lang == "zh" else
                f"en: normaliser {self.norm} (wer, and cer = character rate of the same string, spaces included) "
                f"+ whisper_normalizer {metadata.version('whisper-normalizer')} EnglishTextNormalizer (wer_en)")
        asr = self.asr.version() if self.hyps is None else f"transcripts from {self.options.hyp_file}"
        return f"{asr}; {rule}; jiwer {metadata.version('jiwer')}"

    def score_one(self, item: EvalItem) -> UttResult:
        if not item.text or not reference_tokens(item.text, self.norm, self.options.lang):
            raise ScoreFailure("no reference text")
        audio = self.gen_audio(item, ASR_SR)  # given transcripts too: only a readable wav is scored
        if self.hyps is None:
            hyp = self.asr.transcribe(audio)
        elif item.utt in self.hyps:
            hyp = self.hyps[item.utt]
        else:
            raise ScoreFailure(f"no transcript in {self.options.hyp_file}")
        values = text_error_rates(item.text, hyp, self.norm, self.options.lang)
        return UttResult(values=values, extras={"hyp.txt": hyp, "ref.txt": item.text})


def reference_tokens(text: str, norm: str = "simple", lang: str = "en") -> str:
    """The reference as the error rate sees it (normalised words, or characters for zh); "" = nothing to score."""
    return (zh_chars(text) if lang == "zh" else get_normalizer(norm)(text)).strip()


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese script (zhconv `zh-cn`), as the official zh track converts the hypothesis."""
    import zhconv

    return zhconv.convert(text, "zh-cn")


def text_error_rates(ref: str, hyp: str, norm: str = "simple", lang: str = "en") -> dict[str, float]:
    """The WerScorer columns for a raw reference and hypothesis (normalised here; see the module doc).

    Raises:
        ValueError: if the reference has nothing left to score after normalisation.
    """
    if lang == "zh":
        return {"cer": word_errors(zh_chars(ref), zh_chars(to_simplified(hyp))).rate}
    normalize = get_normalizer(norm)
    out = {"wer": word_errors(normalize(ref), normalize(hyp)).rate,
           "cer": char_errors(normalize(ref), normalize(hyp)).rate}
    ref_en = whisper_en_normalize(ref)
    if ref_en:
        out["wer_en"] = word_errors(ref_en, whisper_en_normalize(hyp)).rate
    return out


def corpus_rates(refs: Sequence[str], hyps: Sequence[str], norm: str = "simple", lang: str = "en") -> dict[str, float]:
    """Corpus-level rates (errors summed / reference lengths summed) of raw text pairs, same columns and rules as
    `text_error_rates`."""
    if lang == "zh":
        pairs = [(zh_chars(r), zh_chars(to_simplified(h))) for r, h in zip(refs, hyps)]
        return {"cer": corpus_rate([word_errors(r, h) for r, h in pairs if r.strip()])}
    normalize = get_normalizer(norm)
    pairs = [(normalize(r), normalize(h)) for r, h in zip(refs, hyps)]
    pairs = [(r, h) for r, h in pairs if r.strip()]
    pairs_en = [(whisper_en_normalize(r), whisper_en_normalize(h)) for r, h in zip(refs, hyps)]
    return {
        "wer": corpus_rate([word_errors(r, h) for r, h in pairs]),
        "cer": corpus_rate([char_errors(r, h) for r, h in pairs]),
        "wer_en": corpus_rate([word_errors(r, h) for r, h in pairs_en if r]),
    }
