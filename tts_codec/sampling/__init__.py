"""tts_codec.sampling"""
