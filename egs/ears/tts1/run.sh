#!/usr/bin/env bash
# EARS (107 speakers, ~100 h, 48 kHz expressive read + freeform speech; CC BY-NC 4.0): every stage of tts_codec
# on the transcribed EARS items, test = the unseen speakers p102-p107 with MARS6-style zero-shot pairs.
# Corpus root: EARS in db.sh or the environment (default downloads/ears; --local_data_opts "--download true"
# fetches it). Expected disk, compute and the papers' numbers: README.md. Options: ./run.sh --help
set -euo pipefail
TTS_RUN_CMD=$(printf '%q ' "$0" "$@"); export TTS_RUN_CMD
cd "$(dirname "$0")"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  cat <<'HELP'
EARS recipe. Stage 1 runs local/data.sh with --local_data_opts "...", whose options are:
  --download [false]           fetch the per-speaker zips (resumable, ~100 GB unpacked) into $EARS
  --speakers [p001-p107]       speakers to download
  --train_speakers [p001-p099] --dev_speakers [p100-p101] --test_speakers [p102-p107]
  --keep_archives [false]      keep the zips after extraction
Family configs: spark (default) conf/bicodec.yaml + conf/spark_lm.yaml; mars6 (--model_family mars6)
conf/snac.yaml + conf/mars6.yaml + conf/mars6_orpo.yaml (stage 9). See README.md.
HELP
fi

# Both families' configs (README.md): --model_family picks, spark by default.
./tts.sh \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --min_dur 1.0 \
    --max_dur 30 \
    --nj 16 \
    --inference_nj 8 \
    --model_family spark \
    --spark_codec_config conf/bicodec.yaml \
    --spark_lm_config conf/spark_lm.yaml \
    --mars6_codec_config conf/snac.yaml \
    --mars6_lm_config conf/mars6.yaml \
    --pref_config conf/mars6_orpo.yaml \
    "$@"
