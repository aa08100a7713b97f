"""tts_codec.testing"""
