"""tts_codec.bin"""
