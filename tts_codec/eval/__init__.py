"""tts_codec.eval"""
