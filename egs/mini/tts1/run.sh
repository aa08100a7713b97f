#!/usr/bin/env bash
# mini: the synthetic eSpeak NG multi-speaker corpus that tts_codec makes offline. It is the embedded default
# (`make demo`) and the corpus CI runs every stage on. Options: ./run.sh --help
set -euo pipefail
TTS_RUN_CMD=$(printf '%q ' "$0" "$@"); export TTS_RUN_CMD
cd "$(dirname "$0")"

# --bpe_vocab_size 400: the mini text's BPE (256 byte pieces, its characters, ~100 merges; it needs > ~300).
./tts.sh \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --min_dur 0.5 \
    --max_dur 20 \
    --nj 2 \
    --inference_nj 2 \
    --model_family spark \
    --codec_config conf/bicodec_tiny.yaml \
    --bpe_vocab_size 400 \
    --lm_config conf/spark_lm_tiny.yaml \
    "$@"
