"""The local web demo of the TTS models (Gradio; the optional `web` extra)."""
