"""tts_codec.recipes"""
