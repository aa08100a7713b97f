"""tts_codec.nn"""
