"""LM training: a generic token-bucketed data module and the Spark-TTS LM task."""
