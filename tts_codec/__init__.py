"""tts_codec: a recipe toolkit for codec language-model text-to-speech (BiCodec/Spark-TTS, SNAC/MARS6)."""

__version__ = "0.1.0"
