"""MARS6 learning-curve points (the mars6 family of `tts_codec.tts.lm_curve`).

Each checkpoint of a MARS6 train_lm run is exported as the model dir stage 10 loads (`model/`: config.yaml,
weights and the stage-4 tokenizer, as `Mars6Task.export` writes it), clones the list with stage 10's decoder
(`Mars6TTS` + `tts_codec.tts.mars6_decode_list.decode_meta_list`, with the `mars6_decode` defaults: top-p 0.2 with
backoff, RAS, seed 0; deep clone mode `none`, the recipe's stage-10 default, unless told otherwise) and, with the
list targets' stage-6 SNAC tokens, reports how much the model reads the text (`mars6_text_reliance`).

What a MARS6 run needs beside its checkpoints, all checked by `prepare_mars6_run` before any work: the stage-4
tokenizer (the run config's `tokenizer_dir`, or --tokenizer_dir), the SNAC codec (--codec_dir), the speaker
extractor of the config's `speaker_embedding` (--speaker_model_dir for a local WavLM-SV) and, for text_gain, the
list targets' x-vectors (--xvector_scp, else each target wav embedded as stage 3 does).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tts_codec.errors import UserError
from tts_codec.tts.lm_curve import checkpoint_state, score_point, text_gain


@dataclass
class Mars6Run:
    """What every checkpoint of one MARS6 run shares (`prepare_mars6_run`).

    Attributes:
        tokens, streams: the list targets' stage-6 tokens and their SNAC streams, coarsest first (None: no
            text_gain).
        quality: the quality prefix of the training texts (`data.quality`).
        xvector_scp: stage-3 x-vectors of the list targets (None: embed the target wavs).
    """

    codec_dir: str
    tokenizer_dir: Path
    codec: Any
    embedder: Any
    options: Any
    tokens: Any = None
    streams: list[str] = field(default_factory=list)
    quality: int = 48000
    xvector_scp: str | None = None
    _speakers: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def target_codes(self, entries: Sequence[Any]) -> dict[str, list[np.ndarray]]:
        """Per list target its SNAC levels, coarsest first."""
        return {e.utt: [self.tokens[e.utt][s] for s in self.streams] for e in entries}

    def target_speakers(self, entries: Sequence[Any]) -> dict[str, np.ndarray]:
        """The speaker embedding of each list target (kept for later checkpoints): the conditioning training used
        (every training utterance is conditioned on its own stage-3 x-vector), from `xvector_scp`, else the
        target's wav (the list's 5th field) embedded with the run's extractor as stage 3 does (`extract_xvectors`)."""
        from tts_codec.data.ark import load_scp_dict
        from tts_codec.data.audio import read_audio
        from tts_codec.eval.speaker import SPK_SR

        missing = [e for e in entries if e.utt not in self._speakers]
        vectors = load_scp_dict(self.xvector_scp) if self.xvector_scp and missing else None  # read once per run
        for e in missing:
            self._speakers[e.utt] = np.asarray(vectors[e.utt]) if vectors is not None else self.embedder.embed(
                read_audio(e.gt_wav, target_sr=SPK_SR)[0], SPK_SR, what=e.gt_wav)
        return {e.utt: self._speakers[e.utt] for e in entries}


def prepare_mars6_run(run_dir: str | Path, codec_dir: str | Path, entries: Sequence[Any],
                      tokenizer_dir: str | Path | None = None, speaker_model_dir: str | None = None,
                      options: Any = None, tokens: Any = None, xvector_scp: str | None = None) -> Mars6Run:
    """Load and check what the checkpoints of the MARS6 run `run_dir` share: its tokenizer (`tokenizer_dir`, default
    the config's), the codec of `codec_dir` (its levels must fit the model), the config's speaker extractor
    (`speaker_model_dir`: a local WavLM-SV instead), and with `tokens` (a TokenFile of the list `entries`' targets)
    their SNAC levels and, with `xvector_scp`, that it holds every target. `options`: the `Mars6Options` of the
    clones."""
    from tts_codec.codecs.inference import load_codec
    from tts_codec.config import load_config
    from tts_codec.lm.mars6.examples import level_streams
    from tts_codec.lm.mars6.model_dir import model_config
    from tts_codec.lm.mars6.speaker_embedding import SpeakerEmbedder
    from tts_codec.lm.mars6.text import Mars6Text
    from tts_codec.tts.mars6 import Mars6Options

    where = Path(run_dir) / "config.yaml"
    config = load_config(where)
    tok = tokenizer_dir or config.get("tokenizer_dir")
    if not tok:
        raise UserError(f"{where}: no tokenizer_dir; pass --tokenizer_dir (the stage-4 tokenizer the run trained "
                        "with, e.g. data/token_list/mars6_bpe512 in the mini recipe)")
    what = "--tokenizer_dir" if tokenizer_dir else f"{where}: tokenizer_dir"
    if not Path(tok).is_dir():
        raise UserError(f"{what} {tok}: no such directory (pass --tokenizer_dir: the stage-4 tokenizer of the run)")
    cfg = model_config(config, Mars6Text.load(tok))
    speaker_conf = config.get("speaker_embedding") or {}
    if str(speaker_conf.get("extractor", "resemblyzer")) == "wavlm" and not (speaker_model_dir or
                                                                          speaker_conf.get("model_dir")):
        raise UserError(f"{where}: speaker_embedding.extractor wavlm without model_dir; pass --speaker_model_dir "
                        "(the local WavLM-SV dir of stage 3)")
    embedder = SpeakerEmbedder.from_config(speaker_conf, speaker_model_dir)
    if embedder.dim != cfg.speaker_dim:
        raise UserError(f"{where}: speaker extractor {embedder.name} gives {embedder.dim}-d embeddings; the model "
                        f"was trained on {cfg.speaker_dim}-d ones")
    codec = load_codec(codec_dir)
    level_streams(codec.codes_info(), cfg, f"--codec_dir {codec_dir}")
    run = Mars6Run(str(codec_dir), Path(tok), codec, embedder, options or Mars6Options(),
                   quality=int((config.get("data") or {}).get("quality", 48000)), xvector_scp=xvector_scp)
    if tokens is not None:
        run.tokens, run.streams = tokens, level_streams(tokens.info, cfg, f"--codes_dir {tokens.codes_dir}")
    if xvector_scp:
        from tts_codec.data.ark import load_scp_dict

        if not Path(xvector_scp).is_file():
            raise UserError(f"--xvector_scp {xvector_scp}: no such file")
        vectors = load_scp_dict(xvector_scp)
        missing = [e.utt for e in entries if e.utt not in vectors]
        if missing:
            raise UserError(f"--xvector_scp {xvector_scp}: no x-vector for {len(missing)} list target(s), e.g. "
                            f"{missing[0]}")
    return run


def export_checkpoint_mars6(ckpt: str | Path, model_dir: Path, tokenizer_dir: str | Path) -> None:
    """Write the model of a MARS6 training checkpoint (weights under `model.` in its state dict) as the model dir
    inference loads, with the tokenizer of `tokenizer_dir`."""
    from tts_codec.lm.mars6.model import Mars6
    from tts_codec.lm.mars6.model_dir import model_config, save_model_dir
    from tts_codec.lm.mars6.text import Mars6Text

    state, config = checkpoint_state(ckpt, "mars6")
    model = Mars6(model_config(config, Mars6Text.load(tokenizer_dir)))
    try:
        model.load_state_dict({k[len("model."):]: v for k, v in state["state_dict"].items()
                               if k.startswith("model.")})
    except RuntimeError as err:
        raise UserError(f"{ckpt}: its weights do not fit its config with the tokenizer {tokenizer_dir} "
                        f"({str(err).splitlines()[0]})") from None
    save_model_dir(model, {**config, "tokenizer_dir": str(tokenizer_dir)}, tokenizer_dir, model_dir)


def mars6_text_reliance(model: Any, text: Any, entries: Sequence[Any], codes: Mapping[str, Sequence[np.ndarray]],
                        speakers: Mapping[str, np.ndarray], quality: int = 48000) -> dict[str, float]:
    """How much a MARS6 reads the text, teacher-forced (`lm_curve.text_gain`): `own_text_loss` is the mean
    cross-entropy (nats per token) of the tokens of each list target's SNAC patches (`codes`: its levels, coarsest
    first) given its own transcript, `text_gain` how much higher it is with the next target's transcript instead.

    Inputs are built as training builds them (`make_example`, `collate_examples`: the `quality` prefix, the
    patches + EOS row) with the same speaker conditioning for both texts: the target's own x-vector (`speakers`),
    as every training utterance is conditioned on its own. The model runs in eval mode with no conditioning dropout
    and clean global-decoder inputs; the EOS row is not counted (as the Spark curve does not count its end token).
    Each position is scored within its level's codes + EOS (`mask_to_levels`), the distribution decoding samples
    from, so runs trained with and without `level_restricted_loss` compare.
    """
    from tts_codec.lm.mars6.examples import collate_examples, make_example
    from tts_codec.lm.mars6.patches import mask_to_levels
    from tts_codec.train.lm.orpo import mean_token_logp

    model.eval()
    cfg = model.cfg

    def loss(entry: Any, sentence: str) -> float:
        example = make_example(text, cfg, sentence, codes[entry.utt], speakers[entry.utt], quality,
                               f"speaker embedding of {entry.utt}")
        batch = collate_examples([example], cfg.eos_id)
        device = next(model.parameters()).device
        batch = {k: v.to(device) for k, v in batch.items()}
        logits, _ = model(batch["text"], batch["text_mask"], batch["speaker"], batch["patches"])
        logits = mask_to_levels(logits, cfg.levels, cfg.codebook_size)
        return float(-mean_token_logp(logits[:, :-1], batch["targets"][:, :-1])[0])

    return text_gain(entries, loss)  # under inference mode


def score_mars6_checkpoint(ckpt: Path, run: Mars6Run, meta_lst: str | Path, out_dir: Path,
                           asr_beam_size: int = 5) -> dict[str, Any]:
    """Export, clone and score one MARS6 checkpoint into `out_dir` (`lm_curve.score_point`); with the run's target
    tokens, also its `mars6_text_reliance` over the list `meta_lst`."""
    from tts_codec.lm.mars6.model_dir import load_model_dir
    from tts_codec.tts.mars6 import Mars6TTS
    from tts_codec.tts.mars6_decode_list import decode_meta_list

    def speak(new: Path) -> dict[str, Any]:
        export_checkpoint_mars6(ckpt, new / "model", run.tokenizer_dir)
        model, text, _ = load_model_dir(new / "model")
        tts = Mars6TTS(run.codec, model, text, run.embedder, run.options)
        decode_meta_list(tts, meta_lst, new / "decode", {"codec_dir": run.codec_dir, "checkpoint": str(ckpt)})
        if run.tokens is None:
            return {}
        from tts_codec.eval.protocols import read_meta_lst

        entries = read_meta_lst(meta_lst)
        return mars6_text_reliance(model, text, entries, run.target_codes(entries), run.target_speakers(entries),
                                   run.quality)

    return score_point(out_dir, meta_lst, asr_beam_size, speak)
