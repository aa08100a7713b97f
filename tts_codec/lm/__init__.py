"""tts_codec.lm"""
