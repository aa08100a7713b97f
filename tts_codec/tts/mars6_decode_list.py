"""Recipe stage 10 for MARS6: clone every line of a meta.lst (`utt|prompt_text|prompt_wav|infer_text`) into
`<out_dir>/wav/<utt>.wav`, then write `wav/wav.scp` and `timing` (`utt seconds`, for RTF scoring).

Resumable: a wav already present is kept (write_wav is atomic, so a present file is complete), and the settings of
the run are kept in `decode_info.json`; another run's settings are refused unless `overwrite`.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

from tts_codec.atomic import atomic_write
from tts_codec.data.audio import write_wav
from tts_codec.data.table import read_table, write_table
from tts_codec.errors import UserError
from tts_codec.eval.protocols import read_meta_lst
from tts_codec.tts.mars6 import Mars6TTS

log = logging.getLogger(__name__)
INFO = "decode_info.json"


def decode_meta_list(tts: Mars6TTS, meta_lst: str | Path, out_dir: str | Path, settings: dict,
                     use_prompt_text: bool = True, overwrite: bool = False) -> int:
    """Speak every entry of `meta_lst`; returns how many wavs were made now (0 when all existed)."""
    entries = read_meta_lst(meta_lst, strict=True)
    out = Path(out_dir)
    info = {"meta_lst": str(Path(meta_lst).resolve()), "use_prompt_text": use_prompt_text,
            "options": asdict(tts.options), **settings}
    info_path = out / INFO
    if info_path.is_file() and json.loads(info_path.read_text(encoding="utf-8")) != info and not overwrite:
        raise UserError(f"{info_path}: made with other settings; pass --overwrite true to decode again")
    if info_path.is_file() and overwrite:
        for wav in (out / "wav").glob("*.wav"):
            wav.unlink()
        (out / "timing").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(info_path) as handle:
        json.dump(info, handle, indent=2)
    timing = read_table(out / "timing") if (out / "timing").is_file() else {}
    made = 0
    for entry in entries:
        path = out / "wav" / f"{entry.utt}.wav"
        if path.is_file() and entry.utt in timing:
            continue
        start = time.perf_counter()
        reference = tts.reference_from_file(entry.prompt_wav, entry.prompt_text if use_prompt_text else None)
        result = tts.synthesize(entry.infer_text, reference)
        write_wav(path, result.wav, result.sample_rate)
        timing[entry.utt] = f"{time.perf_counter() - start:.3f}"
        write_table(out / "timing", timing)
        made += 1
        log.info("%s: %.2f s of audio, top-p per chunk %s", entry.utt, len(result.wav) / result.sample_rate,
                 [t[-1] for t in result.top_p])
    write_table(out / "wav" / "wav.scp", {e.utt: str((out / "wav" / f"{e.utt}.wav").resolve()) for e in entries})
    return made
