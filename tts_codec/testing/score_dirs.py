"""Fake-but-valid evaluation outputs for report tests: a reference data dir and generated wav.scp of tiny tone
clips, and a score dir written by the real writer (tts_codec.eval.score_dir.write_results) from made-up
per-utterance results, so its summary.json, failures.tsv and confusion files follow the real format."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from tts_codec.data.audio import write_wav
from tts_codec.data.table import write_table
from tts_codec.eval.eer import Trial
from tts_codec.eval.normalize import simple_normalize
from tts_codec.eval.score_dir import write_results
from tts_codec.eval.scoring import UttResult
from tts_codec.eval.wer import wer

SENTENCES = (
    "the birch canoe slid on the smooth planks",
    "glue the sheet to the dark blue background",
    "it is easy to tell the depth of a well",
    "these days a chicken leg is a rare dish",
    "rice is often served in round bowls",
    "the juice of lemons makes fine punch",
    "the box was thrown beside the parked truck",
    "four hours of steady work faced us",
)
#: Per-utterance columns of the fake score dir: name -> higher_is_better (None = descriptive).
METRICS = {"wer": False, "pesq_wb": True, "sim": True, "duration_s": None}
#: Default failures: utterance index -> {column: reason}.
DEFAULT_FAILURES = {1: {"pesq_wb": "pesq: no utterances detected"}, 2: {"sim": "no speech after VAD"}}
MODELS = {"wer": "faster-whisper 1.2.1 tiny.en int8 (fake)", "pesq_wb": "pesq 0.0.4", "sim": "resemblyzer 0.1.4",
          "duration_s": "soundfile", "eer": "resemblyzer 0.1.4"}


def fake_text(index: int) -> str:
    """The raw reference text of utterance `index` (capitalised, punctuated; the first one has markup chars)."""
    sentence = SENTENCES[index % len(SENTENCES)]
    return sentence.capitalize() + (" <b>& Co.</b>" if index == 0 else ".")


@dataclass
class FakeEval:
    """Paths of one fake evaluation run."""

    score_dir: Path
    ref_dir: Path
    gen_scp: Path
    utts: list[str]


def fake_utt_ids(n: int) -> list[str]:
    """`spk<k>-utt<i>` ids, two speakers, already in C order."""
    return sorted(f"spk{i % 2 + 1}-utt{i:03d}" for i in range(n))


def tone(seconds: float, sr: int, freq: float) -> np.ndarray:
    """A faded, amplitude-modulated sine (speech-like envelope), shape (N,), float32 in [-0.5, 0.5]."""
    t = np.arange(int(seconds * sr)) / sr
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 4 * t)) * np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)
    return (0.5 * envelope * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_ref_dir(root: str | Path, utts: Sequence[str], sr: int = 16000, seconds: float = 0.4) -> Path:
    """A Kaldi data dir (wav.scp, text, utt2spk, spk2utt) with a tone per utterance; one text has markup chars."""
    root = Path(root)
    wav_scp, text = {}, {}
    for i, utt in enumerate(utts):
        path = root / "wavs" / f"{utt}.wav"
        write_wav(path, tone(seconds + 0.05 * i, sr, 220.0 + 40 * i), sr)
        wav_scp[utt] = str(path)
        text[utt] = fake_text(i)
    utt2spk = {utt: utt.split("-")[0] for utt in utts}
    spk2utt = {spk: [u for u in utts if utt2spk[u] == spk] for spk in sorted(set(utt2spk.values()))}
    for name, table in (("wav.scp", wav_scp), ("text", text), ("utt2spk", utt2spk), ("spk2utt", spk2utt)):
        write_table(root / name, table)
    return root


def make_gen_scp(
    root: str | Path, utts: Sequence[str], sr: int = 24000, seconds: float = 0.45, missing: Sequence[str] = ()
) -> Path:
    """Generated tones in `root/wavs` and `root/wav.scp`; `missing` utterances are left out of the scp."""
    root = Path(root)
    scp = {}
    for i, utt in enumerate(utts):
        if utt in missing:
            continue
        path = root / "wavs" / f"{utt}.wav"
        write_wav(path, tone(seconds + 0.03 * i, sr, 230.0 + 40 * i), sr)
        scp[utt] = str(path)
    write_table(root / "wav.scp", scp)
    return root / "wav.scp"


def make_score_dir(
    root: str | Path,
    utts: Sequence[str],
    seed: int = 0,
    failures: Mapping[str, Mapping[str, str]] | None = None,
    ref_dir: str | Path | None = None,
    gen_scp: str | Path | None = None,
) -> Path:
    """Write a score dir for `utts`: WER from real hypothesis/reference pairs, random PESQ, SIM and durations,
    a gender label per utterance and speaker-verification trials (for an EER).

    Args:
        root: the score dir to create.
        utts: utterance ids in C order; utterance i has the reference text `fake_text(i)`.
        seed: varies the hypotheses and scores (two systems = two seeds).
        failures: utt -> {column: reason}; those cells stay empty and are listed in failures.tsv
            (default: `default_failures(utts)`). A failed "wer" also drops the hypothesis.
        ref_dir, gen_scp: recorded in summary.json.
    """
    rng = np.random.default_rng(seed)
    failures = default_failures(utts) if failures is None else failures
    results = {}
    for i, utt in enumerate(utts):
        ref = fake_text(i)
        hyp = _perturb(simple_normalize(ref), rng)
        values = {"wer": wer(simple_normalize(ref), hyp), "pesq_wb": float(rng.uniform(1.5, 4.5)),
                  "sim": float(rng.uniform(0.5, 0.95)), "duration_s": 0.45 + 0.03 * i}
        fails = dict(failures.get(utt, {}))
        intended = "female" if utt.startswith("spk1") else "male"
        predicted = intended if rng.uniform() < 0.75 else ("male" if intended == "female" else "female")
        extras = {} if set(METRICS) <= set(fails) else {"labels_gender.txt": f"{intended} {predicted}"}
        if "wer" not in fails:
            extras.update({"hyp.txt": hyp, "ref.txt": ref})
        results[utt] = UttResult({k: v for k, v in values.items() if k not in fails}, fails, extras)
    trials = []
    for a in utts:
        for b in (b for b in utts if a < b):
            same = a.split("-")[0] == b.split("-")[0]
            trials.append((Trial(a, b, same), float(rng.uniform(0.7, 0.95) if same else rng.uniform(0.4, 0.8)), ""))
    meta = {"models": MODELS, "protocol": "codec resynthesis (fake)",
            "ref_dir": None if ref_dir is None else str(ref_dir), "gen_scp": None if gen_scp is None else str(gen_scp)}
    write_results(root, results, METRICS, meta, trials)
    return Path(root)


def default_failures(utts: Sequence[str], missing: Sequence[str] = ()) -> dict[str, dict[str, str]]:
    """`DEFAULT_FAILURES` for these utterances, plus every metric failed for utterances without generated audio."""
    failures = {utts[i]: dict(reasons) for i, reasons in DEFAULT_FAILURES.items() if i < len(utts)}
    for utt in missing:
        failures[utt] = {m: "no generated audio" for m in METRICS}
    return failures


def make_fake_eval(root: str | Path, n_utts: int = 6, seed: int = 0, missing: Sequence[str] = ()) -> FakeEval:
    """Reference data dir, generated audio and score dir under `root` (`ref/`, `gen/`, `score/`).

    `missing` utterances get no generated audio and fail every metric, as a real scoring run would record.
    """
    root = Path(root)
    utts = fake_utt_ids(n_utts)
    ref_dir = make_ref_dir(root / "ref", utts)
    gen_scp = make_gen_scp(root / "gen", utts, missing=missing)
    score_dir = make_score_dir(root / "score", utts, seed=seed, failures=default_failures(utts, missing),
                               ref_dir=ref_dir, gen_scp=gen_scp)
    return FakeEval(score_dir, ref_dir, gen_scp, utts)


def _perturb(sentence: str, rng: np.random.Generator) -> str:
    """Substitute, drop or add a word at random (or keep the sentence), so WERs differ between utterances."""
    words = sentence.split()
    k = int(rng.integers(len(words)))
    action = int(rng.integers(4))
    if action == 1:
        words[k] = "blue"
    elif action == 2:
        del words[k]
    elif action == 3:
        words.insert(k, "uh")
    return " ".join(words)
