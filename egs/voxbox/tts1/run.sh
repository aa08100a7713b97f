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
Family configs: spark (default) conf/bicodec.yaml + conf/spark_lm.yaml; mars6 (--model_family mars6)
conf/snac.yaml + conf/mars6.yaml + conf/mars6_orpo.yaml (stage 9). See README.md.
HELP
fi

# Both families' configs (README.md): --model_family picks, spark by default.
# --keep_corpus_labels true: stage 3 keeps VoxBox's metadata pitch/speed labels (the reference the Spark-TTS paper
# trained on) and measures only the utterances without them.
./tts.sh \
    --train_set train \
    --valid_set dev \
    --test_sets "test" \
    --min_dur 1.0 \
    --max_dur 30 \
    --nj 32 \
    --inference_nj 8 \
    --model_family spark \
    --spark_codec_config conf/bicodec.yaml \
    --spark_lm_config conf/spark_lm.yaml \
    --mars6_codec_config conf/snac.yaml \
    --mars6_lm_config conf/mars6.yaml \
    --pref_config conf/mars6_orpo.yaml \
    --keep_corpus_labels true \
    "$@"
