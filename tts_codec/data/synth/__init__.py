"""Synthetic multi-speaker English corpora from eSpeak NG: Kaldi data dirs and fake EARS/LibriSpeech/VoxBox trees."""
