"""A local web page over a model dir (tts_codec.web.app, Gradio; install the `web` extra) with the two official
modes, voice clone (upload or record a reference) and voice creation (gender, pitch, speed).

  python -m tts_codec.bin.web_demo --model_dir exp/packed/mini [--port 7860]   then open http://127.0.0.1:7860
  python -m tts_codec.bin.web_demo --codec_dir exp/codec_t/model --lm_dir exp/lm_t/model

It listens on 127.0.0.1 only unless --host says otherwise; stop it with Ctrl-C.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from tts_codec.cli import new_parser, number_type, run_main
from tts_codec.tts.synthesis_request import add_model_options, add_sampling_options, load_tts, sampling_from_args


def get_parser():
    p = new_parser(__doc__)
    add_model_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=number_type(int, low=1, high=65535), default=7860)
    add_sampling_options(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    from tts_codec.web.app import build_app, import_gradio, serve

    import_gradio()  # a missing extra fails before the model loads
    tts = load_tts(args.model_dir, args.codec_dir, args.lm_dir, device=args.device, lm_dtype=args.lm_dtype)
    title = Path(args.model_dir or args.lm_dir).resolve().name
    app = build_app(tts, sampling_from_args(args), title=title)
    print(f"web_demo: http://{args.host}:{args.port} (Ctrl-C stops it)", file=sys.stderr)
    serve(app, args.host, args.port)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
