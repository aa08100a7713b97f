"""The web page offers what the loaded family supports (no browser: the Blocks are built and inspected): a spark
model gets the clone and creation tabs, a mars6 model only the clone tab, and its clone action speaks while voice
creation is refused with a message."""
from __future__ import annotations

import numpy as np
import pytest

from tts_codec.data.audio import write_wav
from tts_codec.errors import UserError
from tts_codec.testing.mars6_dirs import make_mars6_tts_dirs
from tts_codec.tts.mars6 import Mars6Options, Mars6TTS

pytest.importorskip("gradio", reason="gradio not installed: tools/install.sh installs the web extra")


def _elem_ids(app) -> set[str]:
    return {block.elem_id for block in app.blocks.values() if getattr(block, "elem_id", None)}


@pytest.fixture(scope="module")
def mars6(tmp_path_factory):
    root = tmp_path_factory.mktemp("web_mars6")
    tts = Mars6TTS.from_dirs(*make_mars6_tts_dirs(root), options=Mars6Options(max_attempts=1, trim_db=0.0))
    t = np.arange(24000) / 24000
    write_wav(root / "ref.wav", (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 24000)
    return tts, root / "ref.wav"


def test_a_spark_model_gets_both_tabs(tmp_path):
    from tts_codec.testing.spark_tts import make_tts_dirs
    from tts_codec.tts.spark import SparkTTS
    from tts_codec.web.app import build_app

    ids = _elem_ids(build_app(SparkTTS.from_dirs(*make_tts_dirs(tmp_path)), title="spark"))
    assert {"clone_tab", "clone_button", "create_tab", "create_button"} <= ids


def test_a_mars6_model_gets_the_clone_tab_only_and_it_speaks(mars6):
    from tts_codec.web.app import DemoModel, build_app

    tts, ref = mars6
    ids = _elem_ids(build_app(tts, title="mars6"))
    assert {"clone_tab", "clone_button", "clone_audio"} <= ids and not {i for i in ids if i.startswith("create")}
    model = DemoModel(tts)
    sample_rate, samples = model.clone("Hello there.", str(ref), "", 3)
    again = model.clone("Hello there.", str(ref), "", 3)[1]
    assert sample_rate == 24000 and samples.dtype == np.int16 and len(samples) > 0
    assert np.array_equal(samples, again)  # the page's seed reaches the model
    with pytest.raises(UserError, match="a mars6 model does not offer this"):
        model.create("Hello there.", "female", 2, 2, 0)
