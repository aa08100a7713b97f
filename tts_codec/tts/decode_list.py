"""Recipe stage 10: speak a test list into `<out_dir>/wav/<utt>.wav` + `wav.scp`, one part of an nj-way split per
process, resumable.

Tasks: `clone` reads a meta.lst (`utt|prompt_text|prompt_wav|infer_text`, make_eval_list clone) and clones each
prompt wav (prompt B with its transcript when `use_prompt_text`, else A); `create` reads a data dir's `text` and
stage-3 labels (`utt2gender`, `utt2pitch`, `utt2speed`; with `fine_values` also `utt2pitch_value`,
`utt2speed_value`); `voice` speaks a data dir's `text` with one saved voice file.

Layout: `decode_info.json` (the settings; another run's settings are refused unless overwrite), `parts/` (per part:
`timing.K` appended after each wav, `failed.K`, `done.K`), and once every part is done `wav/wav.scp`, `timing`
(`utt seconds`, for scoring RTF) and `failed` (utterances refused after every retry; they count as missing). When
every utterance is refused these are still written (empty wav.scp), and the run ends with an error.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tts_codec.atomic import atomic_write
from tts_codec.data.audio import write_wav
from tts_codec.data.datadir import DataDir
from tts_codec.data.table import read_table, write_table
from tts_codec.errors import UserError
from tts_codec.eval.protocols import read_meta_lst, text_problem
from tts_codec.tts.generation import SamplingConfig
from tts_codec.tts.spark import GenerationError, Request, SparkTTS, Style
from tts_codec.tts.voice import load_voice

log = logging.getLogger(__name__)
TASKS = ("clone", "create", "voice")
INFO = "decode_info.json"


@dataclass
class DecodeJob:
    """What one stage-10 process does (the CLI's options)."""

    task: str
    out_dir: Path
    meta_lst: str | None = None
    data_dir: str | None = None
    voice: str | None = None
    use_prompt_text: bool = False
    max_ref_seconds: float | None = None
    fine_values: bool = False
    batch_size: int = 1
    nj: int = 1
    nj_part: int = 1
    overwrite: bool = False

    def input_path(self) -> str:
        need = {"clone": "meta_lst", "create": "data_dir", "voice": "data_dir"}[self.task]
        value = getattr(self, need)
        if not value:
            raise UserError(f"--task {self.task} needs --{need}")
        if self.task == "voice" and not self.voice:
            raise UserError("--task voice needs --voice (a voice file)")
        return value


def list_utterances(job: DecodeJob) -> dict[str, dict[str, Any]]:
    """utt -> its inputs (text, prompt wav/transcript or labels), every text checked before anything runs."""
    path = job.input_path()
    if job.task == "clone":
        entries = {e.utt: {"text": e.infer_text, "prompt_wav": e.prompt_wav,
                           "prompt_text": e.prompt_text if job.use_prompt_text else None}
                   for e in read_meta_lst(path, strict=True)}
    else:
        data = DataDir.load(path)
        entries = {u: {"text": data.text.get(u)} for u in data.utt_ids}
        if job.task == "create":
            names = ["gender", "pitch", "speed"] + (["pitch_value", "speed_value"] if job.fine_values else [])
            for name in names:
                table = data.extra.get(f"utt2{name}")
                if table is None:
                    raise UserError(f"{path}: no utt2{name} (stage-3 labels; tts_codec.bin.extract_attributes)")
                for utt, entry in entries.items():
                    entry[name] = table.get(utt)
    for utt, entry in entries.items():
        if problem := text_problem(entry["text"]):
            raise UserError(f"{path}: {utt}: {problem}")
    if not entries:
        raise UserError(f"{path}: no utterances")
    utts = sorted(entries)
    return {u: entries[u] for u in utts[(job.nj_part - 1) * len(utts) // job.nj: job.nj_part * len(utts) // job.nj]}


def make_request(tts: SparkTTS, job: DecodeJob, utt: str, entry: dict[str, Any], voice_file: Any) -> Request:
    """The request of one utterance; UserError when its inputs cannot make one (e.g. gender unknown)."""
    if job.task == "clone":
        voice, reference = tts.voice_from_file(entry["prompt_wav"], entry["prompt_text"], job.max_ref_seconds)
        return Request(utt, entry["text"], voice=voice, reference=reference)
    if job.task == "voice":
        return Request(utt, entry["text"], voice=voice_file)
    missing = [k for k, v in entry.items() if v is None or v == "unknown"]
    if missing:
        raise UserError(f"no {'/'.join(missing)} label")
    fine = {k: int(entry[k]) for k in ("pitch_value", "speed_value") if k in entry}
    return Request(utt, entry["text"], style=Style(entry["gender"], entry["pitch"], entry["speed"], **fine))


def model_fingerprint(model_dir: str | Path) -> str:
    """Names, sizes and modification times of a model dir's files, hashed: a retrained model changes it, so a
    rerun does not resume with the previous model's wavs."""
    files = sorted(p for p in Path(model_dir).rglob("*") if p.is_file())
    stamp = [(str(p.relative_to(model_dir)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return hashlib.sha1(json.dumps(stamp).encode("utf-8")).hexdigest()[:16]


def check_info(job: DecodeJob, info: dict[str, Any]) -> None:
    """Write decode_info.json, or check that an existing one holds the same settings (resume)."""
    path = job.out_dir / INFO
    if path.is_file() and not job.overwrite:
        old = json.loads(path.read_text(encoding="utf-8"))
        if old != info:
            changed = sorted(k for k in info.keys() | old.keys() if old.get(k) != info.get(k))
            raise UserError(f"{path}: an earlier decode with other settings ({', '.join(changed)}) is there; pass "
                            "--overwrite true to replace it")
        return
    job.out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        json.dump(info, handle, indent=1, sort_keys=True)


def decode_part(tts: SparkTTS, job: DecodeJob, entries: dict[str, dict[str, Any]], sampling: SamplingConfig,
                settings: dict[str, Any]) -> int:
    """Speak this part's utterances (`list_utterances`) not yet on disk; returns how many were refused."""
    voice_file = load_voice(job.voice) if job.task == "voice" else None
    if voice_file is not None:
        tts.check_voice(voice_file, job.voice)
    check_info(job, {**settings, "sampling": asdict(sampling)})
    wav_dir, parts = job.out_dir / "wav", job.out_dir / "parts"
    timing_file, failed_file = parts / f"timing.{job.nj_part}", parts / f"failed.{job.nj_part}"
    if job.overwrite:
        for path in [timing_file, failed_file, parts / f"done.{job.nj_part}", *(wav_dir / f"{u}.wav" for u in entries)]:
            path.unlink(missing_ok=True)
    parts.mkdir(parents=True, exist_ok=True)
    done = read_table(timing_file) if timing_file.is_file() else {}
    todo = [u for u in entries if not (u in done and (wav_dir / f"{u}.wav").is_file())]
    if len(todo) < len(entries):
        log.info("resuming: %d of %d utterances already spoken", len(entries) - len(todo), len(entries))
    failed: dict[str, str] = {}
    with open(timing_file, "a", encoding="utf-8") as timing:
        for start in range(0, len(todo), job.batch_size):
            t0 = time.perf_counter()
            requests = []
            for utt in todo[start:start + job.batch_size]:
                try:
                    requests.append(make_request(tts, job, utt, entries[utt], voice_file))
                except UserError as err:
                    failed[utt] = str(err)
                    log.warning("%s: %s", utt, err)
            results = tts.synthesize(requests, sampling, job.batch_size) if requests else []
            seconds = (time.perf_counter() - t0) / max(1, len(requests))
            for request, result in zip(requests, results):
                if isinstance(result, GenerationError):
                    failed[request.key] = str(result).removeprefix(f"{request.key}: ")
                    continue
                if not result.finished:
                    log.warning("%s: cut at --max_new_tokens (no EOS); the end of the text may be missing", request.key)
                write_wav(wav_dir / f"{request.key}.wav", result.wav, result.sample_rate)
                timing.write(f"{request.key} {seconds:.4f}\n")
                timing.flush()
    write_table(failed_file, {u: " ".join(r.split()) for u, r in failed.items()})
    (parts / f"done.{job.nj_part}").touch()
    merge_parts(job)
    return len(failed)


def merge_parts(job: DecodeJob) -> bool:
    """Once every part is done, write wav/wav.scp, timing and failed (any part may do it; the writes are atomic
    and identical, and the last part to finish always sees every marker)."""
    parts = job.out_dir / "parts"
    if not all((parts / f"done.{k}").is_file() for k in range(1, job.nj + 1)):
        return False
    timing: dict[str, str] = {}
    failed: dict[str, str] = {}
    for k in range(1, job.nj + 1):
        timing.update(read_table(parts / f"timing.{k}"))
        failed.update(read_table(parts / f"failed.{k}", allow_empty_value=True) if (parts / f"failed.{k}").is_file()
                      else {})
    wav_dir = (job.out_dir / "wav").resolve()
    write_table(job.out_dir / "wav" / "wav.scp", {u: str(wav_dir / f"{u}.wav") for u in timing})
    write_table(job.out_dir / "timing", timing)
    write_table(job.out_dir / "failed", failed)
    if not timing:  # the lists are written (a report shows a system that spoke nothing), but the run failed
        raise UserError(f"{job.out_dir}: no utterance could be spoken ({len(failed)} refused, see "
                        f"{job.out_dir}/failed), e.g. {next(iter(failed.items()), ('', ''))}")
    return True
