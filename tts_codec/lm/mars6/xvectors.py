"""Recipe stage 3 for MARS6: one speaker embedding per utterance of a data dir into `<out_dir>/xvector.{ark,scp}`
(kaldiio float vectors), with `xvector_info.json` naming the extractor. A rerun with the same extractor over the
same utterances does nothing; another extractor's output is replaced only with `overwrite`."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from tts_codec.atomic import atomic_write, replace_dir
from tts_codec.data.ark import write_ark
from tts_codec.data.datadir import DataDir
from tts_codec.errors import UserError
from tts_codec.eval.speaker import SPK_SR
from tts_codec.lm.mars6.speaker_embedding import SpeakerEmbedder

log = logging.getLogger(__name__)
INFO = "xvector_info.json"


def extract_xvectors(data_dir: str | Path, out_dir: str | Path, embedder: SpeakerEmbedder,
                     overwrite: bool = False) -> int:
    """Embed every utterance of `data_dir`; returns how many were written (0 when up to date)."""
    data, out = DataDir.load(data_dir), Path(out_dir)
    if not data.utt_ids:
        raise UserError(f"data dir {data_dir}: no utterances")
    info = {"extractor": embedder.version(), "dim": embedder.dim, "utterances": len(data.utt_ids)}
    if (out / INFO).is_file() and json.loads((out / INFO).read_text(encoding="utf-8")) == info:
        log.info("%s is up to date", out)
        return 0
    replace = overwrite or not (out / INFO).is_file()
    if not replace:
        raise UserError(f"{out}: holds x-vectors of another extractor or data; pass --overwrite true to replace them")
    vectors: dict[str, np.ndarray] = {}
    for utt in data.utt_ids:
        audio = data.load_audio(utt, target_sr=SPK_SR)
        vectors[utt] = embedder.embed(audio, SPK_SR, what=f"{data_dir}: {utt}")
    with replace_dir(out, inputs=[data_dir], overwrite=True, what="x-vector dir") as tmp:
        write_ark(tmp / "xvector.ark", tmp / "xvector.scp", vectors)
        # The scp must name the ark where it will be once the dir is swapped in, not the aside dir built here.
        scp = tmp / "xvector.scp"
        scp.write_text(scp.read_text(encoding="utf-8").replace(str(tmp / "xvector.ark"), str(out / "xvector.ark")),
                       encoding="utf-8")
        with atomic_write(tmp / INFO) as handle:
            json.dump(info, handle, indent=2)
    return len(vectors)

