"""BiCodec (Spark-TTS): 50 Hz semantic tokens + 32 global speaker tokens; see `model.BiCodec`."""
from tts_codec.codecs.bicodec.model import BiCodec, BiCodecOutput
from tts_codec.codecs.bicodec.ssl import SSLFeatureExtractor

__all__ = ["BiCodec", "BiCodecOutput", "SSLFeatureExtractor"]
