"""Waveform GAN parts shared by every codec trainer: discriminators on raw audio and their losses."""
from tts_codec.train.gan.discriminators import (
    BandSTFTDiscriminator,
    PeriodDiscriminator,
    WaveDiscriminator,
)
from tts_codec.train.gan.losses import (
    MultiScaleMelLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)

__all__ = [
    "BandSTFTDiscriminator",
    "MultiScaleMelLoss",
    "PeriodDiscriminator",
    "WaveDiscriminator",
    "discriminator_loss",
    "feature_matching_loss",
    "generator_adversarial_loss",
]
