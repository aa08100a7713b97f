"""Text-to-speech inference over a codec and an LM: prompts in, generated tokens checked, waveforms out."""
