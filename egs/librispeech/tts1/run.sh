#!/usr/bin/env bash
# LibriSpeech (OpenSLR 12, 16 kHz read audiobooks, CC BY 4.0): every stage of tts_codec, readers as speakers;
# stage 7 is the BiCodec paper's codec reconstruction protocol on test-clean (README.md has the paper's numbers).
# Corpus root: LIBRISPEECH in db.sh or the environment = the directory holding LibriSpeech/ (default downloads;
# --local_data_opts "--download true" fetches the chosen subsets). Options: ./run.sh --help
set -euo pipefail
TTS_RUN_CMD=$(printf '%q ' "$0" "$@"); export TTS_RUN_CMD
cd "$(dirname "$0")"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  cat <<'HELP'
LibriSpeech recipe. Stage 1 runs local/data.sh with --local_data_opts "...", whose options are:
  --download [false]    fetch the subsets (md5-checked, resumable) into $LIBRISPEECH/LibriSpeech
  --subsets [train-clean-100,dev-clean,test-clean]   any of train-clean-100 train-clean-360 train-other-500
                        dev-clean dev-other test-clean test-other; each becomes data/<subset with _>, and the
                        selected train-* subsets together become data/train
  --keep_archives [false]
Family configs: spark (default) conf/bicodec.yaml + conf/spark_lm.yaml; mars6 (--model_family mars6)
conf/snac.yaml + conf/mars6.yaml + conf/mars6_orpo.yaml (stage 9). See README.md.
HELP
fi

# Both families' configs (README.md): --model_family picks, spark by default.
./tts.sh \
    --train_set train \
    --valid_set dev_clean \
    --test_sets "test_clean" \
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
