#!/usr/bin/env bash
# VoxBox (SparkAudio/voxbox: ~100k h of zh/en speech from 29 open corpora with gender/age/emotion/pitch/speed
# tags; CC BY-NC-SA 4.0): the data Spark-TTS was trained on. Audio is read from the WebDataset shards in place.
# Corpus root: VOXBOX in db.sh or the environment (default downloads/voxbox; --local_data_opts "--download true"
# fetches the chosen sub-corpora from the hub). Expected disk and compute: README.md. Options: ./run.sh --help
set -euo pipefail
TTS_RUN_CMD=$(printf '%q ' "$0" "$@"); export TTS_RUN_CMD
cd "$(dirname "$0")"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  cat <<'HELP'
VoxBox recipe. Stage 1 runs local/data.sh with --local_data_opts "...", whose options are:
  --download [false]   fetch metadata/<corpus>.jsonl and audios/<corpus>/ from the hub (huggingface_hub, resumable)
  --corpora [""]       sub-corpora, comma list (e.g. LibriTTS-R,VCTK); empty = every metadata file present
  --languages [""]     e.g. en or zh,en; empty = all
  --num_dev [500]      train records held out as data/dev (data/test = the records of split "test")
  --cache_dir [downloads/voxbox_tar]   .tar.gz shards are decompressed here once for random access
Family configs: spark (default) conf/bicodec.yaml + conf/spark_lm.yaml. mars6: see README.md (TODO).
HELP
fi

# NOTE(M): the MARS6 family (SNAC 24 kHz + MARS6) needs conf/train/snac_24khz.yaml and conf/lm/mars6_full.yaml,
# which another change is adding; until then pass them yourself (--model_family mars6 --codec_config ...).
./tts.sh \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --min_dur 1.0 \
    --max_dur 30 \
    --nj 32 \
    --inference_nj 8 \
    --model_family spark \
    --codec_config conf/bicodec.yaml \
    --lm_config conf/spark_lm.yaml \
    "$@"
