"""The local web demo (Gradio, the optional `web` extra) over one or several model dirs (a tab per model, so both
families can be compared on one page), each offering the modes of its family (`tts.modes`): spark has the two
official Spark-TTS modes, mars6 voice clone only.

Voice clone: upload or record a reference (with its transcript, optionally) and a text. Voice creation: gender,
pitch and speed levels and a text. Both return the speech in an audio player; a user mistake (no text, an
unreadable recording) is shown as an error message, never a traceback.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np

from tts_codec.attributes import GENDERS, LEVELS
from tts_codec.errors import UserError
from tts_codec.tts.generation import SamplingConfig
from tts_codec.tts.synthesis_request import VoiceChoice, check_text, speak_texts, wav_of

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # a local demo phones nobody


def import_gradio() -> Any:
    try:
        import gradio
    except ImportError:
        raise UserError("the web demo needs gradio: pip install -c tools/constraints.txt -e '.[web]'") from None
    return gradio


def to_player(result: Any) -> tuple[int, np.ndarray]:
    """(sample rate, int16 samples): what gr.Audio plays and offers for download."""
    wav = np.clip(wav_of(result), -1.0, 1.0)
    return result.sample_rate, (wav * 32767).astype(np.int16)


class DemoModel:
    """The loaded model and the two actions of the page (each one request at a time, in Gradio's queue)."""

    def __init__(self, tts: Any, sampling: SamplingConfig | None = None):
        self.tts, self.sampling = tts, sampling or SamplingConfig()

    def _sampling(self, seed: float | None) -> SamplingConfig:
        values = {**vars(self.sampling), "seed": int(seed) if seed is not None else self.sampling.seed}
        return SamplingConfig(**values)

    def clone(self, text: str, prompt_wav: str | None, prompt_text: str, seed: float | None) -> tuple[int, np.ndarray]:
        text = check_text(text, "text")
        if not prompt_wav:
            raise UserError("voice clone needs a reference recording: upload or record one")
        choice = VoiceChoice(prompt_wav=prompt_wav, prompt_text=prompt_text or None)
        return to_player(speak_texts(self.tts, [text], choice, self._sampling(seed))[0])

    def create(self, text: str, gender: str, pitch: float, speed: float, seed: float | None
               ) -> tuple[int, np.ndarray]:
        text = check_text(text, "text")
        choice = VoiceChoice(gender=gender, pitch=LEVELS[int(pitch)], speed=LEVELS[int(speed)])
        return to_player(speak_texts(self.tts, [text], choice, self._sampling(seed))[0])


def shown_errors(gr: Any, action: Any) -> Any:
    """`action` with UserError turned into gr.Error (the page shows the message)."""
    def run(*args: Any) -> Any:
        try:
            return action(*args)
        except UserError as err:
            raise gr.Error(str(err)) from None
    return run


def named_models(models: Any) -> dict[str, Any]:
    """{name: TTS object} of what `build_app` was given: one TTS object, a {name: TTS object} mapping, or a list
    (named "model 1", "model 2", ...)."""
    if isinstance(models, Mapping):
        named = dict(models)
    elif isinstance(models, (list, tuple)):
        named = {f"model {i}": tts for i, tts in enumerate(models, 1)}
    else:
        named = {"": models}
    if not named:
        raise UserError("the web page needs at least one model")
    return named


def modes_line(tts: Any) -> str:
    """What the page offers of `tts`, in words."""
    return "Voice clone or voice creation" if "create" in tts.modes else "Voice clone"


def build_app(models: Any, sampling: SamplingConfig | None = None, title: str = "tts_codec") -> Any:
    """The Gradio Blocks app over loaded TTS objects (e.g. `load_model_dir(...)`); `serve` puts it online.

    One model: its mode tabs (elem_ids `clone_*`, `create_*`). Several ({name: tts}, see `named_models`): a tab
    per model titled `<name> (<family>)` (elem_id `model<i>_tab`, i from 0) holding that model's mode tabs (elem_ids
    `model<i>_clone_*` ...), so the families can be compared side by side; one synthesis runs at a time. The
    actions are also API endpoints named like the elem_ids: `clone`, `create`, `model<i>_clone` ...
    """
    gr = import_gradio()
    named = named_models(models)
    with gr.Blocks(title=f"{title} demo", analytics_enabled=False) as app:
        if len(named) == 1:
            tts = next(iter(named.values()))
            gr.Markdown(f"# {title}: text to speech\n{modes_line(tts)}; the same seed gives the same speech.")
            mode_tabs(gr, DemoModel(tts, sampling), "")
        else:
            gr.Markdown(f"# {title}: text to speech\nPick a model; the same seed gives the same speech.")
            for i, (name, tts) in enumerate(named.items()):
                with gr.Tab(f"{name} ({tts.family})", elem_id=f"model{i}_tab"):
                    gr.Markdown(f"{modes_line(tts)} with {name}, a {tts.family} model.")
                    mode_tabs(gr, DemoModel(tts, sampling), f"model{i}_")
    return app


def mode_tabs(gr: Any, model: DemoModel, prefix: str) -> None:
    """The tabs of the modes `model` offers (a family without voice creation, mars6, gets no creation tab); every
    elem_id starts with `prefix`."""
    synthesis = {"concurrency_id": "synthesis", "concurrency_limit": 1}  # one at a time, whichever model speaks
    with gr.Tab("Voice clone", elem_id=f"{prefix}clone_tab"):
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(label="Text to speak", lines=3, elem_id=f"{prefix}clone_text")
                prompt = gr.Audio(sources=["upload", "microphone"], type="filepath",
                                  label="Reference voice (upload or record)", elem_id=f"{prefix}clone_prompt")
                prompt_text = gr.Textbox(label="Transcript of the reference (optional)",
                                         elem_id=f"{prefix}clone_prompt_text")
                seed = gr.Number(value=0, precision=0, label="Seed", elem_id=f"{prefix}clone_seed")
                button = gr.Button("Clone and speak", variant="primary", elem_id=f"{prefix}clone_button")
            output = speech_player(gr, f"{prefix}clone_audio")
        button.click(shown_errors(gr, model.clone), [text, prompt, prompt_text, seed], output,
                     api_name=f"{prefix}clone", **synthesis)
    if "create" not in model.tts.modes:
        return
    with gr.Tab("Voice creation", elem_id=f"{prefix}create_tab"):
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(label="Text to speak", lines=3, elem_id=f"{prefix}create_text")
                gender = gr.Radio(list(GENDERS), value=GENDERS[0], label="Gender", elem_id=f"{prefix}create_gender")
                pitch = gr.Slider(0, 4, value=2, step=1, label="Pitch (very low .. very high)",
                                  elem_id=f"{prefix}create_pitch")
                speed = gr.Slider(0, 4, value=2, step=1, label="Speed (very low .. very high)",
                                  elem_id=f"{prefix}create_speed")
                seed = gr.Number(value=0, precision=0, label="Seed", elem_id=f"{prefix}create_seed")
                button = gr.Button("Create and speak", variant="primary", elem_id=f"{prefix}create_button")
            output = speech_player(gr, f"{prefix}create_audio")
        button.click(shown_errors(gr, model.create), [text, gender, pitch, speed, seed], output,
                     api_name=f"{prefix}create", **synthesis)


def speech_player(gr: Any, elem_id: str) -> Any:
    """The output player of a mode."""
    return gr.Audio(label="Speech", type="numpy", interactive=False, elem_id=elem_id)


def serve(app: Any, host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> str:
    """Serve `app` on host:port and return its URL; with `block`, until Ctrl-C.

    Offline by construction: no analytics, no share tunnel, no server-side rendering (it would need Node), system
    fonts instead of web fonts. The page's title and components are set by its script once it has loaded the
    config, after the browser's load event: a client waits for them, not for `load`.
    """
    gr = import_gradio()
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["monospace"])
    _, url, _ = app.queue().launch(server_name=host, server_port=port, share=False, ssr_mode=False, theme=theme,
                                   quiet=True, show_error=True, prevent_thread_lock=not block)
    return url
