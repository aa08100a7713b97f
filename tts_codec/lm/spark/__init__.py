"""Spark-TTS LM (bicodec_spark.md section 5): `vocab` (added tokens, id layout, code <-> id), `prompts` (formats A/B/C
and training targets), `tokenizer` (stage 4), `model` (Qwen2 from YAML, official LLM/ dirs), `examples` (the two
training objectives)."""
