"""Several model dirs on one page (no browser: the Blocks are built and inspected): a tab per model titled
`<dir name> (<family>)` holding that family's mode tabs, each tab's button speaking with its own model; the dirs are
all checked before any model loads."""
from __future__ import annotations

import numpy as np
import pytest

from tts_codec.data.audio import write_wav
from tts_codec.errors import UserError
from tts_codec.lm.spark import prompts as P
from tts_codec.testing.mars6_dirs import make_mars6_tts_dirs
from tts_codec.testing.model_dirs import make_packed_dir
from tts_codec.testing.spark_tts import ScriptedLM
from tts_codec.tts.generation import SamplingConfig
from tts_codec.tts.mars6 import Mars6Options

pytest.importorskip("gradio", reason="gradio not installed: tools/install.sh installs the web extra")

SEMANTIC = list(range(10, 60))  # 1 s of spark speech tokens


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    from tts_codec.tts.packing import pack_model

    root = tmp_path_factory.mktemp("web_model_dirs")
    spark = make_packed_dir(root / "spark")
    pack_model(*make_mars6_tts_dirs(root / "mars6_src"), root / "mars6_tiny")
    t = np.arange(24000) / 24000
    write_wav(root / "ref.wav", (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 24000)
    return spark, root / "mars6_tiny", root / "ref.wav"


@pytest.fixture(scope="module")
def page(dirs):
    """The two-family app over the loaded dirs; the spark LM is scripted (a random LM cannot write a voice)."""
    from tts_codec.web.app import build_app
    from tts_codec.web.page_models import load_page_models

    models = load_page_models([str(dirs[0]), str(dirs[1])])
    spark, mars6 = models["packed"], models["mars6_tiny"]
    script = P.encode(P.control_target(230, 4, np.arange(32) * 7, np.array(SEMANTIC)), spark.vocab)
    spark.lm = ScriptedLM(spark.lm, [[script]], spark.vocab.eos_id)
    mars6.options = Mars6Options(max_attempts=1, trim_db=0.0)
    return build_app(models, SamplingConfig(max_new_tokens=120), title="both"), models


def _block(app, elem_id: str):
    [block] = [b for b in app.blocks.values() if getattr(b, "elem_id", None) == elem_id]
    return block


def _action(app, button_id: str):
    """The function the page runs when the button is clicked, and the elem_ids of its inputs and output."""
    button = _block(app, button_id)
    [fn] = [f for f in app.fns.values() if (button._id, "click") in [(t[0], t[1]) for t in f.targets]]
    return fn.fn, [b.elem_id for b in fn.inputs], [b.elem_id for b in fn.outputs]


def test_each_model_dir_gets_a_tab_with_its_family_modes(page):
    app, models = page
    assert list(models) == ["packed", "mars6_tiny"]
    assert [_block(app, f"model{i}_tab").label for i in (0, 1)] == ["packed (spark)", "mars6_tiny (mars6)"]
    ids = {b.elem_id for b in app.blocks.values() if getattr(b, "elem_id", None)}
    assert {"model0_clone_tab", "model0_create_tab", "model0_create_audio", "model1_clone_tab",
            "model1_clone_audio"} <= ids
    assert not {i for i in ids if i.startswith("model1_create")}  # mars6 creates no voices
    assert not {i for i in ids if i.startswith(("clone_", "create_"))}  # every id names its model
    assert {f.api_name for f in app.fns.values()} == {"model0_clone", "model0_create", "model1_clone"}


def test_each_tab_speaks_with_its_own_model(page, dirs):
    app, models = page
    spark, mars6 = models["packed"], models["mars6_tiny"]
    create, inputs, outputs = _action(app, "model0_create_button")
    assert inputs[0] == "model0_create_text" and outputs == ["model0_create_audio"]
    sample_rate, samples = create("Hello from the created voice.", "female", 2, 2, 0)
    assert sample_rate == spark.sample_rate == 16000 and spark.lm.calls == 1
    assert len(samples) / sample_rate == pytest.approx(len(SEMANTIC) / 50, abs=0.05)  # the scripted tokens
    clone, inputs, outputs = _action(app, "model1_clone_button")
    assert inputs[1] == "model1_clone_prompt" and outputs == ["model1_clone_audio"]
    sample_rate, samples = clone("Hello there.", str(dirs[2]), "", 3)
    assert sample_rate == 24000 and samples.dtype == np.int16 and len(samples) > 0 and spark.lm.calls == 1
    assert np.array_equal(samples, clone("Hello there.", str(dirs[2]), "", 3)[1])  # the seed reaches mars6


def test_one_model_keeps_the_single_page(dirs):
    from tts_codec.web.app import build_app
    from tts_codec.web.page_models import load_page_models

    models = load_page_models([str(dirs[1])])
    app = build_app(models, title="mars6_tiny")
    ids = {b.elem_id for b in app.blocks.values() if getattr(b, "elem_id", None)}
    assert {"clone_tab", "clone_button", "clone_audio"} <= ids and not {i for i in ids if i.startswith("model")}
    assert app.title == "mars6_tiny demo"


def test_a_list_of_models_is_named_by_position():
    from tts_codec.web.app import named_models

    first, second = object(), object()
    assert named_models([first, second]) == {"model 1": first, "model 2": second}
    assert named_models(first) == {"": first}
    with pytest.raises(UserError, match="at least one model"):
        named_models({})


def test_every_dir_is_checked_before_any_model_loads(dirs, tmp_path, monkeypatch):
    from tts_codec.web import page_models

    loaded = []
    monkeypatch.setattr(page_models, "load_model_dir", lambda root, **options: loaded.append(root))
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    other_packed = make_packed_dir(tmp_path / "other")  # another dir called "packed"
    for given, message in (([dirs[0], tmp_path / "nope"], "no such directory"),
                           ([dirs[0], tmp_path / "empty"], "no model_dir.json"),
                           ([dirs[0], dirs[0]], "already called 'packed'"),
                           ([dirs[0], other_packed], "already called 'packed'")):
        with pytest.raises(UserError, match=message):
            page_models.load_page_models([str(d) for d in given])
    assert loaded == []
    with pytest.raises(UserError, match="--codec_dir/--lm_dir give one model"):
        page_models.load_page_models([str(dirs[0]), str(dirs[1])], lm_dir=str(dirs[0]))
