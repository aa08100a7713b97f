#!/usr/bin/env bash
# mini: the synthetic eSpeak NG multi-speaker corpus that tts_codec makes offline. It is the embedded default
# (`make demo`) and the corpus CI runs every stage on. Options: ./run.sh --help
set -euo pipefail
TTS_RUN_CMD=$(printf '%q ' "$0" "$@"); export TTS_RUN_CMD
cd "$(dirname "$0")"

# Both families' configs; --model_family picks (spark: the default). MARS6 on SNAC at 24 kHz: conf/snac_mini.yaml,
# conf/mars6_mini.yaml and conf/mars6_orpo_mini.yaml say how they were sized for one hour on 2 CPU cores.
# --spark_bpe_vocab_size 400: the mini text's BPE (256 byte pieces, its characters, ~100 merges; it needs > ~300);
# MARS6 keeps the spec's 512 (the official eng-tok-512). Stage 7's report sets the codec's scores beside the
# measured long runs of RESULTS.md (conf/reference_runs/), so a short run shows how far it is from them.
./tts.sh \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --min_dur 0.5 \
    --max_dur 20 \
    --nj 2 \
    --inference_nj 2 \
    --model_family spark \
    --spark_codec_config conf/bicodec_tiny.yaml \
    --spark_lm_config conf/spark_lm_tiny.yaml \
    --spark_bpe_vocab_size 400 \
    --mars6_codec_config conf/snac_mini.yaml \
    --mars6_lm_config conf/mars6_mini.yaml \
    --pref_config conf/mars6_orpo_mini.yaml \
    --spark_codec_reference_runs conf/reference_runs/bicodec_tiny.tsv \
    --mars6_codec_reference_runs conf/reference_runs/snac_mini.tsv \
    "$@"
