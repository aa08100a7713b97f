"""Semantic distillation (`content_distill:`): teacher frames are aligned to the student's frame times, the loss is
1 - cosine after the projection, it trains the SNAC encoder, is not exported, and config mistakes are named."""
import math
from pathlib import Path

import pytest
import torch

from tts_codec.codecs.snac import SNACCodec
from tts_codec.config import load_config
from tts_codec.errors import UserError
from tts_codec.train.content_distill import ContentDistillation
from tts_codec.train.registry import fit_from_config
from tts_codec.train.snac_task import SNACTask

TINY = Path(__file__).resolve().parents[2] / "conf" / "train" / "snac_tiny.yaml"


class RampTeacher:
    """Frame f of every row is the D-vector (f, 1, 0, ...): its 50 Hz frame count follows Whisper's framing."""

    dim = 4

    def __init__(self):
        self.calls: list[tuple[int, ...]] = []

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(wav.shape))
        frames = (wav.shape[-1] - 400) // 320 + 1
        out = torch.zeros(wav.shape[0], frames, self.dim)
        out[..., 0] = torch.arange(frames, dtype=torch.float32)
        out[..., 1] = 1.0
        return out


def test_targets_interpolate_the_teacher_at_the_student_frame_centres():
    """16 kHz audio, student at 25 Hz: student frame t is centred at (t + 0.5) / 25 s = teacher frame 2t + 0.5."""
    teacher = RampTeacher()
    distill = ContentDistillation(3, teacher, 16000, 25.0, 1)
    targets = distill.targets(torch.zeros(2, 16000), 10)
    assert teacher.calls == [(2, 16000)]
    assert targets.shape == (2, 4, 10)
    assert torch.allclose(targets[0, 0], torch.arange(10) * 2 + 0.5)
    assert torch.equal(targets[:, 1], torch.ones(2, 10))


def test_targets_resample_to_16_khz_and_clamp_at_the_last_frame():
    teacher = RampTeacher()
    distill = ContentDistillation(3, teacher, 24000, 24000 / 512, 1)
    targets = distill.targets(torch.zeros(1, 1, 20480).reshape(1, -1), 40)
    assert teacher.calls == [(1, 20480 * 2 // 3)]
    last = (20480 * 2 // 3 - 400) // 320  # index of the teacher's last frame
    assert targets[0, 0].max() == last and targets[0, 0, 0] == pytest.approx(0.5 * 50 / (24000 / 512) - 0.5)


def test_loss_is_one_minus_the_cosine_to_the_standardised_teacher_after_the_projection():
    torch.manual_seed(0)
    distill = ContentDistillation(3, RampTeacher(), 16000, 25.0, 1)
    latent = torch.randn(2, 3, 10)
    wav = torch.zeros(2, 16000)
    loss = distill(latent, wav)
    projected = torch.einsum("dc,bct->bdt", distill.proj.weight[..., 0], latent) + distill.proj.bias[:, None]
    target = distill.targets(wav, 10)
    mean = target.mean((0, 2), keepdim=True)
    var = target.var((0, 2), unbiased=False, keepdim=True)
    standard = (target - mean) / torch.sqrt(var + 1e-5)  # training mode: the batch's statistics per channel
    cos = (projected * standard).sum(1) / (projected.norm(dim=1) * standard.norm(dim=1)).clamp(min=1e-8)
    assert loss.item() == pytest.approx((1 - cos).mean().item(), abs=1e-5)
    # the running statistics moved towards the batch's (momentum 0.01) and validation uses them
    assert distill.norm.running_mean[0].item() == pytest.approx(0.01 * mean[0, 0, 0].item())


def test_loss_is_zero_when_the_projection_reproduces_the_standardised_teacher():
    distill = ContentDistillation(2, RampTeacher(), 16000, 25.0, 1).eval()
    wav = torch.zeros(2, 16000)
    target = distill.targets(wav, 10)
    with torch.no_grad():
        distill.norm.running_mean.copy_(torch.tensor([9.0, 1.0, 0.0, 0.0]))
        distill.norm.running_var.copy_(torch.tensor([4.0, 1.0, 1.0, 1.0]))
        distill.proj.weight.zero_()
        distill.proj.bias.zero_()
        distill.proj.weight[0, 0, 0] = 1.0
    latent = torch.cat([(target[:, :1] - 9.0) / 2.0, torch.zeros(2, 1, 10)], 1)  # the channel that varies
    assert distill(latent, wav).item() == pytest.approx(0.0, abs=1e-5)
    assert distill(-latent, wav).item() == pytest.approx(2.0, abs=1e-5)


@pytest.fixture
def distill_config() -> dict:
    torch.set_num_threads(1)
    cfg = load_config(TINY)
    cfg["data"]["batch_size"] = 2
    cfg["trainer"].update(checkpoint_every_n_steps=1, val_check_interval=100)
    cfg["content_distill"] = {"levels": 2}
    cfg["loss_weights"]["content"] = 5.0
    return cfg


def test_the_content_term_trains_the_encoder_through_the_summed_levels_only(distill_config):
    task = SNACTask(distill_config, teacher=RampTeacher())
    assert task.content.levels == 2 and task.content.proj.in_channels == task.generator.model.latent_dim
    trained = {id(p) for p in task.generator_parameters()}
    assert all(id(p) in trained for p in task.content.parameters())
    wav = torch.randn(2, 20480) * 0.1
    loss = task.generate({"wav": wav}, 0, True).losses["content"]
    assert 0 <= loss.item() <= 2
    loss.backward()
    encoder_grad = sum(p.grad.abs().sum() for p in task.generator.model.encoder.parameters() if p.grad is not None)
    assert encoder_grad > 0
    coarse_only = task.generator.model.quantizer.quantizers
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in coarse_only[2].out_proj.parameters())
    assert all(p.grad.abs().sum() > 0 for p in coarse_only[1].out_proj.parameters())


def test_a_training_run_logs_the_content_term_and_exports_a_plain_snac(tmp_path, corpus, distill_config,
                                                                     monkeypatch):
    teacher = RampTeacher()
    monkeypatch.setattr("tts_codec.codecs.bicodec.whisper_features.WhisperEncoderFeatures",
                        lambda *args, **kwargs: teacher)
    task = fit_from_config(distill_config, tmp_path / "exp", corpus[0], None, max_steps=1)
    assert math.isfinite(float(task.trainer.callback_metrics["train/gen/content"]))
    assert teacher.calls and teacher.calls[0] == (2, 40 * 512 * 2 // 3)
    task.export(tmp_path / "model")
    loaded = SNACCodec.from_pretrained(tmp_path / "model")
    assert "content.proj.weight" in task.state_dict()  # in the checkpoint (resume), not in the model dir
    assert set(loaded.state_dict()) == set(task.generator.state_dict())


@pytest.mark.parametrize("change, match", [
    ({"content_distill": {"levels": 4}}, r"content_distill.levels must be an integer in \[1, 3\]"),
    ({"content_distill": {"levels": True}}, "content_distill.levels"),
    ({"content_distill": {"teacher": "hubert"}}, "content_distill.teacher must be one of"),
    ({"content_distill": {"layer": 3}}, "content_distill.layer is not a key"),
    ({"content_distill": [1]}, "content_distill must be a mapping"),
    ({"content_distill": {"model_dir": "/nonexistent/whisper"}}, "content_distill.model_dir /nonexistent/whisper"),
    ({"loss_weights": {"content": 0.0}}, "content_distill needs a positive loss_weights.content"),
    ({"content_distill": None}, "loss_weights.content is set but there is no content_distill section"),
])
def test_config_mistakes_are_named(distill_config, change, match):
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(distill_config.get(key), dict):
            distill_config[key].update(value)
        else:
            distill_config[key] = value
    with pytest.raises(UserError, match=match):
        SNACTask(distill_config, teacher=RampTeacher())
