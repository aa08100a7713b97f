"""Evaluation protocols: which utterances are scored against what (evaluation.md §9).

- Seed-TTS-eval lists: `utt|prompt_text|prompt_wav|infer_text[|gt_wav]`, and the official parser's short forms
  `utt|infer_text` and `utt|infer_text|prompt_wav` (generated audio is `<gen_dir>/<utt>.wav`).
- Codec resynthesis: a subset of a test data dir (optionally by duration); the codec output is scored against it.
- EARS zero-shot pairs: same speaker, different content; reading styles keep the style, emotions change emotion.
`build_items` turns a data dir / generated scp / meta list into `EvalItem`s and reports mismatched lists.
"""
from __future__ import annotations

import logging
import os
import re
import unicodedata
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

from tts_codec.atomic import atomic_write
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_lines, read_table
from tts_codec.errors import UserError
from tts_codec.attributes import parse_gender, parse_level
from tts_codec.eval.eer import Trial
from tts_codec.eval.scoring import EvalItem
from tts_codec.labels.gender import UNKNOWN

log = logging.getLogger(__name__)

EARS_TEST_SPEAKERS = tuple(f"p{i:03d}" for i in range(102, 108))  # the EARS-WHAM test speakers
_EARS_STYLE = re.compile(r"^(p\d{3})_((?:sentences|rainbow)_\d+)_([a-z]+)$")
_EARS_EMO = re.compile(r"^(p\d{3})_emo_([a-z]+)_sentences$")


class MetaEntry(NamedTuple):
    """One Seed-TTS-eval line; gt_wav is None when the list has no fifth field, prompt_wav None for `utt|text`."""

    utt: str
    prompt_text: str
    prompt_wav: str | None
    infer_text: str
    gt_wav: str | None = None


def parse_meta_fields(fields: list[str]) -> tuple[str, str, str | None, str, str | None] | None:
    """(utt, prompt_text, prompt_wav, infer_text, gt_wav) of one split line, as the official
    get_wav_res_ref_text.py reads it: 5 or 4 fields in full form, `utt|infer_text`, or `utt|infer_text|prompt_wav`
    (whose utt may carry a `.wav` suffix, dropped); None for any other field count."""
    if len(fields) in (4, 5):
        return fields[0], fields[1], fields[2], fields[3], fields[4] if len(fields) == 5 else None
    if len(fields) == 2:
        return fields[0], "", None, fields[1], None
    if len(fields) == 3:
        utt = fields[0][:-len(".wav")] if fields[0].endswith(".wav") else fields[0]
        return utt, "", fields[2], fields[1], None
    return None


def read_meta_lst(path: str | os.PathLike, strict: bool = False) -> list[MetaEntry]:
    """Read a meta.lst; relative wav paths are resolved against the list's directory (as seed-tts-eval does).

    With `strict` (lists made for inference), every infer_text must be speakable, a prompt_text empty or
    speakable, and every wav must exist (UserError naming file and line). Scoring reads leniently: what is
    missing fails per utterance.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such meta list")
    entries, seen = [], set()
    for lineno, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        parsed = parse_meta_fields(fields)
        if parsed is None or not parsed[0].strip() or parsed[0] in seen:
            why = ("duplicate utterance" if parsed and parsed[0] in seen else
                   f"expected 2, 3, 4 or 5 `|`-separated fields, got {len(fields)}" if parsed is None else
                   "empty utterance id")
            raise UserError(f"{path}:{lineno}: {why}")
        utt, prompt_text, prompt_wav, infer_text, gt_wav = parsed
        seen.add(utt)
        prompt_wav, gt_wav = (str(path.parent / w) if w and not os.path.isabs(w) else w for w in (prompt_wav, gt_wav))
        entries.append(MetaEntry(utt.strip(), prompt_text, prompt_wav, infer_text, gt_wav))
        if strict:
            _check_entry(entries[-1], f"{path}:{lineno}")
    return entries


def text_problem(text: str | None, may_be_empty: bool = False) -> str | None:
    """Why `text` cannot be spoken or scored (empty, blanks only, no letter or digit, a control character), or None."""
    if text is None or text == "":
        return None if may_be_empty else "empty text"
    control = next((ch for ch in text if unicodedata.category(ch) == "Cc"), None)
    if control is not None:
        return f"control character U+{ord(control):04X} in the text"
    if not text.strip():
        return "text of blanks only"
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        return f"text {text.strip()!r} has no letter or digit"
    return None


def _check_entry(entry: MetaEntry, where: str) -> None:
    for field_name, text, may_be_empty in (("infer_text", entry.infer_text, False),
                                           ("prompt_text", entry.prompt_text, True)):
        if problem := text_problem(text, may_be_empty):
            raise UserError(f"{where}: {field_name}: {problem}")
    if entry.prompt_wav is None:
        raise UserError(f"{where}: no prompt_wav: a `utt|infer_text` line can be scored, not cloned")
    for field_name, wav in (("prompt_wav", entry.prompt_wav), ("gt_wav", entry.gt_wav)):
        if wav is not None and not Path(wav).is_file():
            raise UserError(f"{where}: {field_name} {wav}: no such file")


def write_meta_lst(path: str | os.PathLike, entries: Sequence[MetaEntry]) -> None:
    """Write a meta.lst atomically (C-sorted by utt; `utt|infer_text` for an entry without prompt wav); UserError if
    a field holds `|` or a newline."""
    lines = []
    for e in sorted(entries, key=lambda e: e.utt):
        if e.prompt_wav is None and e.gt_wav is None:
            fields = [e.utt, e.infer_text]
        else:
            fields = [e.utt, e.prompt_text, e.prompt_wav or "", e.infer_text] + ([e.gt_wav] if e.gt_wav else [])
        if any("|" in f or "\n" in f for f in fields):
            raise UserError(f"meta entry {e.utt}: a field contains `|` or a newline (pipe wav specs cannot be listed)")
        lines.append("|".join(fields) + "\n")
    with atomic_write(path, "w") as handle:
        handle.writelines(lines)


def ears_pairs(utts: Sequence[str], speakers: Sequence[str] = EARS_TEST_SPEAKERS) -> dict[str, str]:
    """Target utt -> prompt utt of the same speaker with different content (evaluation.md §9.3).

    Reading styles (`pXXX_sentences_12_highpitch`): the prompt is the next item (C order, cyclic) of the same
    speaker and style with another text. Emotions (`pXXX_emo_anger_sentences`): the next emotion of that speaker.
    Targets with no possible prompt are skipped (logged).
    """
    groups: dict[tuple, list[tuple[str, str]]] = {}
    for utt in sorted(utts):
        if m := _EARS_STYLE.match(utt):
            spk, content, group = m.group(1), m.group(2), ("style", m.group(1), m.group(3))
        elif m := _EARS_EMO.match(utt):
            spk, content, group = m.group(1), m.group(2), ("emo", m.group(1))
        else:
            continue
        if spk in speakers:
            groups.setdefault(group, []).append((content, utt))
    return _pair_within_groups(groups.values(), "EARS")


def clone_pairs(data: DataDir) -> dict[str, str]:
    """Target utt -> prompt utt for zero-shot cloning on any data dir: the next utterance of the same speaker
    (C order, cyclic) whose text differs, so the prompt never gives the content away. Targets whose speaker has
    no other text are skipped (logged)."""
    groups = ([(data.text.get(u), u) for u in utts] for utts in data.spk2utt.values())
    return _pair_within_groups(groups, "clone")


def _pair_within_groups(groups: Iterable[list[tuple[str | None, str]]], what: str) -> dict[str, str]:
    """Each (content, utt) of a group -> the next member (C order, cyclic) with other content; sorted by target."""
    pairs, skipped = {}, 0
    for members in groups:
        for i, (content, utt) in enumerate(members):
            others = [u for c, u in members[i + 1:] + members[:i] if c != content]
            if others:
                pairs[utt] = others[0]
            else:
                skipped += 1
    if skipped:
        log.warning("%s pairing: %d targets have no same-speaker prompt with other content", what, skipped)
    return dict(sorted(pairs.items()))


def pair_trials(pairs: dict[str, str], utt2spk: dict[str, str]) -> list[Trial]:
    """Trials for EER: each (prompt, target) pair as a target trial, plus one non-target per target whose
    enrolment is the prompt of the same-index pair of the next speaker (C order, cyclic)."""
    by_spk: dict[str, list[tuple[str, str]]] = {}
    for target, prompt in sorted(pairs.items()):
        by_spk.setdefault(utt2spk[target], []).append((target, prompt))
    spks = sorted(by_spk)
    trials = [Trial(prompt, target, True) for target, prompt in sorted(pairs.items())]
    if len(spks) < 2:
        log.warning("only one speaker: no non-target trials")
        return trials
    for k, spk in enumerate(spks):
        other = by_spk[spks[(k + 1) % len(spks)]]
        trials += [Trial(other[i % len(other)][1], target, False) for i, (target, _) in enumerate(by_spk[spk])]
    return sorted(trials)


def write_trials(path: str | os.PathLike, trials: Sequence[Trial]) -> None:
    """Write `enroll test target|nontarget` lines atomically."""
    with atomic_write(path, "w") as handle:
        handle.writelines(f"{t.enroll} {t.test} {'target' if t.target else 'nontarget'}\n" for t in trials)


def audio_table(data: DataDir) -> dict[str, object]:
    """utt -> AudioSpec of a data dir (segments become (spec, start, end))."""
    out = {}
    for utt in data.utt_ids:
        try:
            spec, start, end = data.audio_spec(utt)
        except UserError:
            continue  # a missing wav is reported per utterance when scored
        out[utt] = spec if not start and end is None else (spec, start, end)
    return out


def intended_labels(data: DataDir, utt: str) -> dict[str, str]:
    """Intended attribute labels from utt2pitch / utt2speed / utt2gender (or spk2gender); validated. `unknown`
    (what stage 3 writes for what it could not measure) is no label."""
    labels = {}
    for attr, parse in (("pitch", parse_level), ("speed", parse_level), ("gender", parse_gender)):
        table = data.extra.get(f"utt2{attr}", {})
        value = table.get(utt)
        if value in (None, UNKNOWN) and attr == "gender" and "spk2gender" in data.extra:
            value = data.extra["spk2gender"].get(data.utt2spk.get(utt, ""))
        if value is not None and value != UNKNOWN:
            try:
                labels[attr] = parse(value)
            except UserError as err:
                raise UserError(f"data dir {data.path}: utt2{attr} / spk2gender entry for {utt}: {err}") from None
    return labels


def build_items(
    ref_dir: str | None = None,
    gen_scp: str | None = None,
    gen_dir: str | None = None,
    meta_lst: str | None = None,
    prompt_scp: str | None = None,
    prompt_recon_scp: str | None = None,
    nj: int = 1,
    nj_part: int = 1,
) -> list[EvalItem]:
    """EvalItems for one scoring run, C-sorted; utterances come from ref_dir, else meta_lst, else gen_scp.

    Utterances missing from the generated list are kept (they fail per metric); generated utterances outside
    the chosen set are ignored and counted in the log (normal for a split).
    """
    ref = DataDir.load(ref_dir) if ref_dir else None
    meta = {e.utt: e for e in read_meta_lst(meta_lst)} if meta_lst else {}
    gen = read_table(gen_scp) if gen_scp else {}
    utts = ref.utt_ids if ref else sorted(meta) if meta else sorted(gen)
    if gen_dir:
        gen = {**{u: os.path.join(gen_dir, f"{u}.wav") for u in utts}, **gen}
    if not utts:
        raise UserError("nothing to score: give --ref_dir, --meta_lst or --gen_scp with utterances")
    if not 1 <= nj_part <= nj:
        raise UserError(f"--nj_part {nj_part} must be in 1..--nj {nj}")
    utts = utts[(nj_part - 1) * len(utts) // nj: nj_part * len(utts) // nj]
    prompts = read_table(prompt_scp) if prompt_scp else {}
    recon = read_table(prompt_recon_scp) if prompt_recon_scp else {}
    ref_audio = audio_table(ref) if ref else {}
    items = []
    for utt in utts:
        m = meta.get(utt)
        items.append(EvalItem(
            utt=utt,
            gen=gen.get(utt),
            ref=ref_audio.get(utt) or (m.gt_wav if m else None),
            text=(ref.text.get(utt) if ref else None) or (m.infer_text if m else None),
            prompt=prompts.get(utt) or (m.prompt_wav if m else None),
            prompt_recon=recon.get(utt),
            labels=intended_labels(ref, utt) if ref else {},
        ))
    missing = sum(1 for i in items if i.gen is None)
    extra = len(set(gen) - set(ref.utt_ids if ref else utts)) if gen_scp else 0
    log.info("%d utterances to score; %d have no generated wav; %d generated utterances are outside this set",
             len(items), missing, extra)
    return items


def codec_subset(data: DataDir, min_dur: float = 0.0, max_dur: float = float("inf"), max_utts: int = 0) -> DataDir:
    """A codec-resynthesis test list: utterances within [min_dur, max_dur] s, then `max_utts` evenly spaced ones
    (0 = all) so that every speaker of a C-sorted list stays represented."""
    from tts_codec.data.audio import audio_info

    keep = []
    for utt in data.utt_ids:
        spec, start, end = data.audio_spec(utt)
        dur = (end - start) if end is not None and end >= 0 else audio_info(spec).duration - start
        if min_dur <= dur <= max_dur:
            keep.append(utt)
    if max_utts and len(keep) > max_utts:
        keep = [keep[i * len(keep) // max_utts] for i in range(max_utts)]
    if not keep:
        raise UserError(f"data dir {data.path}: no utterance between {min_dur} and {max_dur} s")
    return data.subset(keep)


def meta_to_datadir(entries: Sequence[MetaEntry]) -> DataDir:
    """A data dir for inference from a Seed-TTS list: text = infer_text, wav.scp = gt_wav (when given), each
    utterance its own speaker, plus prompt.scp and utt2prompt_text for the TTS front-end."""
    return DataDir(
        wav_scp={e.utt: e.gt_wav for e in entries if e.gt_wav},
        utt2spk={e.utt: e.utt for e in entries},
        text={e.utt: e.infer_text for e in entries},
        extra={"prompt.scp": {e.utt: e.prompt_wav for e in entries if e.prompt_wav},
               "utt2prompt_text": {e.utt: e.prompt_text for e in entries if e.prompt_text.strip()}},
    )


def pairs_to_meta(data: DataDir, pairs: dict[str, str]) -> list[MetaEntry]:
    """Seed-TTS entries of (target -> prompt) pairs of one data dir (ground truth = the target's own audio)."""
    audio = audio_table(data)
    entries = []
    for target, prompt in pairs.items():
        if not isinstance(audio.get(prompt), str) or not isinstance(audio.get(target), str):
            raise UserError(f"data dir {data.path}: {target}/{prompt} need plain wav files (no segments or pipes) "
                            "for a meta list; dump the audio first")
        for utt in (target, prompt):
            if problem := text_problem(data.text.get(utt)):
                raise UserError(f"{_where(data, 'text', utt)}: utterance {utt}: {problem}")
            if not Path(audio[utt]).is_file():
                raise UserError(f"{_where(data, 'wav.scp', utt)}: utterance {utt}: {audio[utt]}: no such file")
        entries.append(MetaEntry(target, data.text.get(prompt, ""), audio[prompt], data.text.get(target, ""),
                                 audio[target]))
    return entries


def _where(data: DataDir, name: str, utt: str) -> str:
    """`<data dir>/<name>:<line>` of the line of `utt` (for messages; the tables do not keep line numbers)."""
    path = Path(data.path or ".") / name
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return str(path)
    line = next((i for i, text in enumerate(lines, start=1) if text.split(maxsplit=1)[:1] == [utt]), None)
    return f"{path}:{line}" if line else str(path)


def parse_speakers(spec: str) -> tuple[str, ...]:
    """`p102-p107` or `p102,p105` -> speaker ids."""
    if m := re.fullmatch(r"p(\d{3})-p(\d{3})", spec.strip()):
        return tuple(f"p{i:03d}" for i in range(int(m.group(1)), int(m.group(2)) + 1))
    return tuple(s.strip() for s in spec.split(",") if s.strip())
