"""The web demo in headless Chromium (driven by playwright, never downloading a browser): the page loads (its title
and tabs appear), each of the two official modes speaks a sentence into an audio element that plays (duration > 0),
a user mistake is shown on the page as a message, and a page over a spark and a mars6 model dir clones in the mars6
tab. Only the demo's own server is reachable from the page."""
from __future__ import annotations

import contextlib
import re
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from tts_codec.data.audio import write_wav
from tts_codec.lm.spark import prompts as P
from tts_codec.testing.bicodec import tone
from tts_codec.testing.mars6_dirs import make_mars6_tts_dirs
from tts_codec.testing.model_dirs import make_packed_dir
from tts_codec.testing.spark_tts import ScriptedLM
from tts_codec.tts.generation import SamplingConfig
from tts_codec.tts.mars6 import Mars6Options
from tts_codec.tts.model_dir import load_model_dir

SHIPPED = Path(__file__).resolve().parents[2] / "egs" / "mini" / "tts1" / "pretrained"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SEMANTIC = list(range(10, 60))  # 1 s of speech tokens


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium not installed: run tools/install_system.sh")
    try:
        import gradio  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as err:
        pytest.skip(f"{err.name} not installed: tools/install.sh installs the web and test extras")
    from tts_codec.web.app import build_app, serve

    root = tmp_path_factory.mktemp("web")
    tts = load_model_dir(make_packed_dir(root))
    # A random LM cannot write a voice's chain of thought: it is scripted (the codec still decodes for real).
    script = P.encode(P.control_target(230, 4, np.arange(32) * 7, np.array(SEMANTIC)), tts.vocab)
    tts.lm = ScriptedLM(tts.lm, [[script]], tts.vocab.eos_id)
    write_wav(root / "reference.wav", tone(1.5), 16000)
    app = build_app(tts, SamplingConfig(max_new_tokens=120), title="tiny")
    url = serve(app, "127.0.0.1", _free_port(), block=False).rstrip("/")
    yield url, root / "reference.wav", tts
    app.close()


@contextlib.contextmanager
def opened(url: str, title: str, tab: str):
    """A headless Chromium page on the demo at `url`, once Gradio has rendered its `title` and the `tab`."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        # only the demo's own server is reachable (no web fonts, no analytics)
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
                   or route.request.url.startswith(("data:", "blob:")) else route.abort())
        page.goto(url)
        # Gradio renders the page from its script after the load event (title, tabs): wait for it. On a busy
        # machine this took longer than `goto` (the first CI run read an empty title).
        expect(page).to_have_title(re.compile(f"^{re.escape(title)}$"), timeout=120_000)
        expect(page.get_by_role("tab", name=tab)).to_be_visible(timeout=60_000)
        yield page
        browser.close()


@pytest.fixture()
def page(demo):
    with opened(demo[0], "tiny demo", "Voice creation") as page:
        yield page


#: The duration of the first <audio> inside element `id` with a loaded source (0 if none yet), looking into open
#: shadow roots too: Gradio's waveform player (WaveSurfer) plays through an <audio> in its shadow root, while the
#: plain <audio> beside it stays hidden and without a source (it only gets one if the waveform fails to load).
LOADED_DURATION = """id => {
  const root = document.getElementById(id);
  if (!root) return 0;
  const audios = [...root.querySelectorAll('audio')];
  for (const el of root.querySelectorAll('*'))
    if (el.shadowRoot) audios.push(...el.shadowRoot.querySelectorAll('audio'));
  const loaded = audios.find(a => a.currentSrc && a.readyState >= 1 && a.duration > 0 && isFinite(a.duration));
  return loaded ? loaded.duration : 0;
}"""


def _duration(page, audio_id: str) -> float:
    """Seconds of the audio the output component plays, once its source has loaded."""
    return float(page.wait_for_function(LOADED_DURATION, arg=audio_id, timeout=180_000).json_value())


@pytest.mark.chromium
def test_both_modes_speak_into_a_playable_audio_element(demo, page):
    _, reference, tts = demo
    assert page.title() == "tiny demo"
    page.get_by_role("tab", name="Voice creation").click()
    page.locator("#create_text textarea").fill("Hello from the created voice.")
    page.locator("#create_button").click()
    duration = _duration(page, "create_audio")
    # the created voice speaks the 50 scripted semantic tokens: 50 frames of 20 ms
    assert duration == pytest.approx(len(SEMANTIC) / 50, abs=0.05)
    page.get_by_role("tab", name="Voice clone").click()
    page.locator("#clone_text textarea").fill("Hello from the cloned voice.")
    page.locator("#clone_prompt input[type=file]").set_input_files(str(reference))
    assert _duration(page, "clone_prompt") == pytest.approx(1.5, abs=0.05)  # the uploaded reference is in place
    page.locator("#clone_button").click()
    assert _duration(page, "clone_audio") == pytest.approx(len(SEMANTIC) / 50, abs=0.05)
    assert tts.lm.calls == 2


@pytest.mark.chromium
def test_a_user_mistake_is_shown_on_the_page(demo, page):
    page.get_by_role("tab", name="Voice clone").click()
    page.locator("#clone_text textarea").fill("No reference given.")
    page.locator("#clone_button").click()
    page.get_by_text("voice clone needs a reference recording").first.wait_for(timeout=60_000)


@pytest.mark.chromium
def test_two_families_on_one_page_the_mars6_tab_clones(demo, tmp_path_factory):
    """A spark and a mars6 model dir on one page: a tab each, and the mars6 tab's clone speaks into its player."""
    from tts_codec.tts.packing import pack_model
    from tts_codec.web.app import build_app, serve
    from tts_codec.web.page_models import load_page_models

    _, reference, spark = demo
    root = tmp_path_factory.mktemp("web_families")
    pack_model(*make_mars6_tts_dirs(root / "src"), root / "mars6_tiny")
    mars6 = load_page_models([str(root / "mars6_tiny")])["mars6_tiny"]
    mars6.options = Mars6Options(max_attempts=1, trim_db=0.0)
    app = build_app({"tiny": spark, "mars6_tiny": mars6}, title="both")
    url = serve(app, "127.0.0.1", _free_port(), block=False).rstrip("/")
    try:
        with opened(url, "both demo", "tiny (spark)") as page:
            page.get_by_role("tab", name="mars6_tiny (mars6)").click()
            assert page.locator("#model1_create_tab").count() == 0  # mars6 creates no voices
            page.locator("#model1_clone_text textarea").fill("Hello there.")
            page.locator("#model1_clone_prompt input[type=file]").set_input_files(str(reference))
            assert _duration(page, "model1_clone_prompt") == pytest.approx(1.5, abs=0.05)
            page.locator("#model1_clone_button").click()
            assert _duration(page, "model1_clone_audio") > 0
    finally:
        app.close()


@pytest.mark.chromium
def test_the_shipped_models_speak_on_the_page(demo, tmp_path):
    """The shipped mini models on one page (as `web_demo --model_dir pretrained/spark_mini pretrained/mars6_mini`):
    Spark creates a voice for a sentence and MARS6 clones one, each into a player that plays a sentence-long clip."""
    from tts_codec.web.app import build_app, serve
    from tts_codec.web.page_models import load_page_models

    from tts_codec.testing.shipped_models import PROMPTS, SAMPLE_RATE, speak

    reference = tmp_path / "espeak_prompt.wav"
    write_wav(reference, speak(*PROMPTS[0]), SAMPLE_RATE)  # a voice the models heard in training
    models = load_page_models([str(SHIPPED / "spark_mini"), str(SHIPPED / "mars6_mini")])
    app = build_app(models, title="shipped")
    url = serve(app, "127.0.0.1", _free_port(), block=False).rstrip("/")
    try:
        with opened(url, "shipped demo", "spark_mini (spark)") as page:
            page.get_by_role("tab", name="Voice creation").first.click()
            page.locator("#model0_create_text textarea").fill("Open the window and let the cool air in.")
            page.locator("#model0_create_button").click()
            assert 1.0 < _duration(page, "model0_create_audio") < 10.0  # a sentence, not a click or a ramble
            page.get_by_role("tab", name="mars6_mini (mars6)").click()
            page.locator("#model1_clone_text textarea").fill("We will meet again at noon tomorrow.")
            page.locator("#model1_clone_prompt input[type=file]").set_input_files(str(reference))
            page.locator("#model1_clone_button").click()
            assert _duration(page, "model1_clone_audio") > 0.5
    finally:
        app.close()
