"""MARS6: an encoder-decoder TTS LM with a MEGABYTE-style hierarchical decoder over SNAC patches (mars6_snac.md)."""
