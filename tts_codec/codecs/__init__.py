"""tts_codec.codecs"""
