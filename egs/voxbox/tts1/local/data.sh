#!/usr/bin/env bash
# Stage 1 of the VoxBox recipe: optionally download sub-corpora, then Kaldi data dirs data/{train,dev,test} read
# from the shards in place (tts_codec.recipes.voxbox): every metadata field as an utt2* file, pitch and speed
# also as Spark attribute levels.
set -euo pipefail
download=false
corpora=""
languages=""
num_dev=500
cache_dir=downloads/voxbox_tar
help_message="Usage: local/data.sh [--download false] [--corpora a,b] [--languages en,zh] [--num_dev 500]
  [--cache_dir downloads/voxbox_tar]   (corpus root: \$VOXBOX)"
. utils/parse_options.sh
. ./path.sh
. ./db.sh

root=${VOXBOX:-downloads/voxbox}
if [ "${download}" = true ]; then
  # path.sh keeps the hub offline; this one call is the explicit download the user asked for.
  HF_HUB_OFFLINE=0 ${PYTHON} -m tts_codec.bin.download_corpus voxbox --root "${root}" --corpora "${corpora}"
fi
if [ ! -d "${root}/metadata" ]; then
  echo "$0: error: '${root}/metadata' does not exist: set VOXBOX in db.sh or the environment," \
       "or fetch sub-corpora with --local_data_opts '--download true --corpora <names>'" >&2
  exit 2
fi
${PYTHON} -m tts_codec.bin.prepare_corpus voxbox --root "${root}" --out_dir data --cache_dir "${cache_dir}" \
  --corpora "${corpora}" --languages "${languages}" --num_dev "${num_dev}" --overwrite true
