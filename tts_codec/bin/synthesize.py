"""Text to speech with a packed model dir (or a recipe's codec + LM dirs), in one of the official modes:

  clone:  --prompt_wav ref.wav [--prompt_text "its transcript"]   zero-shot cloning of the reference voice
  create: --gender female|male [--pitch LEVEL] [--speed LEVEL]    voice creation (levels: very_low, low,
          moderate, high, very_high or 0-4)
  voice:  --voice v.json                                          a saved voice (--save_voice writes one)

A mars6 model (SNAC + MARS6) clones only: shallow from --prompt_wav (the speaker embedding), deep with
--prompt_text (the transcript and the reference's tokens prefix the generation; --deep_clone_mode per-chunk or
fixed-ref); it samples with top-p backoff and RAS (--top_p, default 0.2; the spark sampling options are refused).

  python -m tts_codec.bin.synthesize --model_dir exp/packed/mini --text "Hello." --gender female --seed 0 --out x.wav
  python -m tts_codec.bin.synthesize --codec_dir exp/codec_t/model --lm_dir exp/lm_t/model --text_file lines.txt \
      --prompt_wav ref.wav --out out_dir        (one wav per non-blank line: out_dir/line0001.wav ...)

Every line of a --text_file is spoken in the same voice (voice creation: the one made for the first line).
The same --seed gives the same speech. Outputs are written atomically and replaced only with --overwrite true.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from tts_codec.atomic import refuse_to_clobber, replace_dir
from tts_codec.cli import add_overwrite, new_parser, run_main
from tts_codec.data.audio import write_wav
from tts_codec.errors import UserError
from tts_codec.tts.family_request import add_family_options, load_options
from tts_codec.tts.model_dir import model_family
from tts_codec.tts.synthesis_request import (VoiceChoice, add_model_options, add_sampling_options, check_text,
                                             load_tts, read_text_file, sampling_from_args, speak_texts, wav_of)


def get_parser():
    p = new_parser(__doc__)
    add_model_options(p)
    p.add_argument("--text", help="the text to speak")
    p.add_argument("--text_file", help="instead of --text: one text per line, one wav each into --out (a dir)")
    p.add_argument("--prompt_wav", help="clone: the reference recording")
    p.add_argument("--prompt_text", help="clone: the reference's transcript (prompt B; without it prompt A)")
    p.add_argument("--gender", help="create: female or male")
    p.add_argument("--pitch", help="create: pitch level (default moderate)")
    p.add_argument("--speed", help="create: speed level (default moderate)")
    p.add_argument("--voice", help="voice: a saved voice file")
    p.add_argument("--save_voice", help="also save the voice used (e.g. the created one) to this file")
    p.add_argument("--out", required=True, help="the wav to write (with --text_file: a directory)")
    add_sampling_options(p)
    add_family_options(p)
    add_overwrite(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = get_parser()
    args = parser.parse_args(argv)
    if (args.text is None) == (args.text_file is None):
        raise UserError("give the text with exactly one of --text or --text_file")
    lines = read_text_file(args.text_file) if args.text_file else [(1, check_text(args.text, "--text"))]
    choice = VoiceChoice(args.prompt_wav, args.prompt_text, args.gender, args.pitch, args.speed, args.voice)
    out = Path(args.out)
    if args.text is not None and out.is_dir():
        raise UserError(f"--out {out} is a directory; give the wav file to write")
    for path in filter(None, (out, args.save_voice and Path(args.save_voice))):
        refuse_to_clobber(path, args.overwrite, "--out" if path == out else "--save_voice")
    family = model_family(args.model_dir, args.lm_dir if args.codec_dir else None)
    tts = load_tts(args.model_dir, args.codec_dir, args.lm_dir, **load_options(family, parser, args, choice))
    results = speak_texts(tts, [text for _, text in lines], choice, sampling_from_args(args))
    if args.text is not None:
        write_wav(out, wav_of(results[0]), results[0].sample_rate)
    else:
        with replace_dir(out, inputs=[args.text_file], overwrite=args.overwrite, what="--out") as tmp:
            for (number, _), result in zip(lines, results):
                write_wav(tmp / f"line{number:04d}.wav", wav_of(result), result.sample_rate)
    if args.save_voice:
        results[0].voice.save(args.save_voice)
    seconds = sum(len(r.wav) / r.sample_rate for r in results)
    cut = sum(not r.finished for r in results)
    print(f"synthesize ({choice.mode}): {len(results)} text(s), {seconds:.2f} s of audio -> {out}"
          + (f"; {cut} cut at the length limit" if cut else ""), file=sys.stderr)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
