"""A local web page over one or several model dirs (tts_codec.web.app, Gradio; install the `web` extra): voice clone
(upload or record a reference) and, for a spark model, voice creation (gender, pitch, speed). Several --model_dir
give a tab per model, e.g. a spark and a mars6 model side by side.

  python -m tts_codec.bin.web_demo --model_dir exp/packed/mini [--port 7860]   then open http://127.0.0.1:7860
  python -m tts_codec.bin.web_demo --model_dir pretrained/spark_mini --model_dir pretrained/mars6_mini
  python -m tts_codec.bin.web_demo --codec_dir exp/codec_t/model --lm_dir exp/lm_t/model

Every model dir is checked before any loads. It listens on 127.0.0.1 only unless --host says otherwise; stop it
with Ctrl-C.
"""
from __future__ import annotations

import sys
from typing import Sequence

from tts_codec.cli import new_parser, number_type, run_main
from tts_codec.tts.synthesis_request import add_model_options, add_sampling_options, sampling_from_args


def get_parser():
    p = new_parser(__doc__)
    add_model_options(p, several=True)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=number_type(int, low=1, high=65535), default=7860)
    add_sampling_options(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    from tts_codec.web.app import build_app, import_gradio, serve
    from tts_codec.web.page_models import load_page_models

    import_gradio()  # a missing extra fails before the models load
    models = load_page_models(args.model_dir, args.codec_dir, args.lm_dir, device=args.device,
                              lm_dtype=args.lm_dtype)
    title = next(iter(models)) if len(models) == 1 else " + ".join(models)
    app = build_app(models, sampling_from_args(args), title=title)
    print(f"web_demo: http://{args.host}:{args.port} (Ctrl-C stops it)", file=sys.stderr)
    serve(app, args.host, args.port)
    return 0


def cli() -> None:
    sys.exit(run_main(main))


if __name__ == "__main__":
    cli()
