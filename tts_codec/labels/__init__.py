"""Spark-TTS attribute labels of recorded or generated speech (bicodec_spark.md §6).

`pitch` measures the mean voiced F0 (PyWorld DIO + StoneMask), `speed` the syllables per second of speech,
`syllables` counts syllables from text, `gender` reads the corpus metadata, and `extract` labels a whole data dir
and writes the Kaldi extra files (`utt2pitch`, `utt2speed`, `utt2pitch_value`, `utt2speed_value`, `utt2gender`).
The level names and boundaries themselves live in `tts_codec.attributes`.
"""
