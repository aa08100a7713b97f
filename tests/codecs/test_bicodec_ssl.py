"""SSL features: frame counts, wav2vec2 hidden-state semantics under truncation, normalisation, local loading."""
import numpy as np
import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

from tts_codec.codecs.bicodec import SSLFeatureExtractor
from tts_codec.codecs.bicodec.ssl import _wav2vec2_hidden_states
from tts_codec.errors import UserError
from tts_codec.testing.bicodec import TINY_WAV2VEC2, tiny_config, tone


@pytest.mark.parametrize("ssl", ["logmel", "wav2vec2", "whisper_encoder"])
def test_frames_follow_the_400_320_framing(ssl):
    if ssl == "whisper_encoder":
        pytest.importorskip("faster_whisper", reason="faster-whisper not installed (the eval extra)")
    ext = SSLFeatureExtractor.from_config(tiny_config(ssl))
    assert ext.min_samples == 400 and not any(p.requires_grad for p in ext.parameters())
    for n in (400, 719, 720, 16000, 38400):
        assert ext.num_frames(n) == (n - 400) // 320 + 1
        assert ext(torch.from_numpy(tone(n / 16000))[None]).shape == (1, (n - 400) // 320 + 1, ext.dim)
    assert ext.num_frames(399) == 0
    ext.train()
    assert not ext.training


@pytest.mark.parametrize("stable", [True, False])
def test_manual_hidden_states_match_transformers_and_truncation(stable):
    cfg = Wav2Vec2Config(**dict(TINY_WAV2VEC2, num_hidden_layers=4, do_stable_layer_norm=stable,
                                feat_extract_norm="layer" if stable else "group"))
    torch.manual_seed(0)
    full = Wav2Vec2Model(cfg).eval()
    wav = torch.randn(2, 4000)
    with torch.no_grad():
        ref = full(wav, output_hidden_states=True).hidden_states
        ours = _wav2vec2_hidden_states(full, wav)
        for i in range(4):  # the last state differs by design for stable layer norm (final LN)
            torch.testing.assert_close(ours[i], ref[i], atol=1e-5, rtol=1e-4)
        truncated = Wav2Vec2Model(Wav2Vec2Config(**dict(cfg.to_dict(), num_hidden_layers=2))).eval()
        truncated.load_state_dict(full.state_dict(), strict=False)
        torch.testing.assert_close(_wav2vec2_hidden_states(truncated, wav)[2], ref[2], atol=1e-5, rtol=1e-4)


def test_normalisation_matches_the_hf_feature_extractor():
    ext = SSLFeatureExtractor.from_config(tiny_config("wav2vec2"))
    wav = tone(0.5, amplitude=0.7) + 0.2
    hf = Wav2Vec2FeatureExtractor(do_normalize=True)(wav, sampling_rate=16000, return_tensors="pt").input_values
    with torch.no_grad():
        mine = ext(torch.from_numpy(wav)[None])
        ref_states = _wav2vec2_hidden_states(ext.backbone, hf.float())
    torch.testing.assert_close(mine, sum(ref_states[i] for i in (1, 2, 3)) / 3, atol=1e-5, rtol=1e-4)


def test_loads_a_local_directory_truncated(tmp_path):
    torch.manual_seed(0)
    cfg = Wav2Vec2Config(**dict(TINY_WAV2VEC2, num_hidden_layers=4))
    full = Wav2Vec2Model(cfg).eval()
    full.save_pretrained(tmp_path / "w2v")
    Wav2Vec2FeatureExtractor(do_normalize=False).save_pretrained(tmp_path / "w2v")
    conf = tiny_config("wav2vec2")
    conf["ssl_conf"] = {"type": "wav2vec2", "model_dir": str(tmp_path / "w2v"), "layers": [1, 2], "normalize": None}
    ext = SSLFeatureExtractor.from_config(conf)
    assert len(ext.backbone.encoder.layers) == 2 and ext.normalize is False
    wav = torch.from_numpy(tone(0.3))[None]
    with torch.no_grad():
        ref = full(wav, output_hidden_states=True).hidden_states
    torch.testing.assert_close(ext(wav), (ref[1] + ref[2]) / 2, atol=1e-5, rtol=1e-4)


def test_missing_model_dir_is_a_user_error_naming_the_key(tmp_path):
    cfg = tiny_config()
    cfg["ssl_conf"] = {"type": "wav2vec2", "model_dir": None, "layers": [11, 14, 16]}
    with pytest.raises(UserError, match="ssl_conf.model_dir is not set"):
        SSLFeatureExtractor.from_config(cfg)
    cfg["ssl_conf"]["model_dir"] = str(tmp_path)
    with pytest.raises(UserError, match="ssl_conf.model_dir .* no config.json"):
        SSLFeatureExtractor.from_config(cfg)
    cfg["ssl_conf"] = {"type": "hubert"}
    with pytest.raises(UserError, match="ssl_conf.type"):
        SSLFeatureExtractor.from_config(cfg)
    cfg = tiny_config("wav2vec2")
    cfg["ssl_conf"]["layers"] = [5]
    with pytest.raises(UserError, match="hidden state 5 but the model has 3 layers"):
        SSLFeatureExtractor.from_config(cfg)
    assert np.isfinite(SSLFeatureExtractor.from_config(tiny_config("wav2vec2"))(torch.zeros(1, 800)).numpy()).all()


def test_whisper_encoder_features_follow_the_words_not_the_voice(espeak_engine):
    """Why the tiny codec may read Whisper's encoder instead of log-mel: the same sentence in two voices lies closer
    (DTW over cosine distance) than two sentences in one voice; for log-mel both distances are alike."""
    pytest.importorskip("faster_whisper", reason="faster-whisper not installed (the eval extra)")
    import librosa

    from tts_codec.data.synth.espeak import synthesize
    from tts_codec.data.synth.voices import select_speakers

    seen, _ = select_speakers(4, 0)
    male_us, female_gb = seen[0].voice, seen[3].voice
    texts = ("The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.")

    def say(voice, text):
        return torch.from_numpy(synthesize(text, voice.prosody(0, 1.0, seed=0), 16000, espeak_engine))[None]

    def distance(ext, x, y):
        fx, fy = (f[0].numpy() - f[0].numpy().mean(0) for f in (ext(x), ext(y)))
        cost, path = librosa.sequence.dtw(fx.T, fy.T, metric="cosine")
        return cost[-1, -1] / len(path)

    a_male, a_female, b_male = say(male_us, texts[0]), say(female_gb, texts[0]), say(male_us, texts[1])
    ratios = {}
    for ssl in ("whisper_encoder", "logmel"):
        ext = SSLFeatureExtractor.from_config(tiny_config(ssl))
        ratios[ssl] = distance(ext, a_male, a_female) / distance(ext, a_male, b_male)
    assert ratios["whisper_encoder"] < 0.6  # measured 0.36
    assert ratios["whisper_encoder"] < 0.6 * ratios["logmel"]  # log-mel: 1.0, no preference for the words


def test_whisper_encoder_without_a_model_is_a_user_error(tmp_path):
    pytest.importorskip("faster_whisper", reason="faster-whisper not installed (the eval extra)")
    cfg = tiny_config("whisper_encoder")
    cfg["ssl_conf"]["model_dir"] = str(tmp_path)
    with pytest.raises(UserError, match="ssl_conf.model_dir .* no model.bin"):
        SSLFeatureExtractor.from_config(cfg)


def test_a_bicodec_on_whisper_features_tokenizes_and_decodes():
    pytest.importorskip("faster_whisper", reason="faster-whisper not installed (the eval extra)")
    from tts_codec.codecs.bicodec import BiCodec

    model = BiCodec.from_config(tiny_config("whisper_encoder")).eval()
    wav = torch.from_numpy(model.prepare(tone(1.0), 16000))[None]
    with torch.no_grad():
        codes = model.encode(wav)
        out = model.decode(codes)
    frames = (wav.shape[-1] - 400) // 320 + 1  # the wav2vec2 framing the codec was built for
    assert codes["semantic"].shape[-1] == frames and out.shape[-1] == frames * 320 and torch.isfinite(out).all()
