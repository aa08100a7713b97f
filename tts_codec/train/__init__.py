"""tts_codec.train"""
