"""tts_codec.data"""
