"""Speed and parity measurements: our BiCodec alone, and side by side with the official Spark-TTS code."""
