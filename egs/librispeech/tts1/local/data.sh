#!/usr/bin/env bash
# Stage 1 of the LibriSpeech recipe: optionally download the subsets, then one Kaldi data dir per subset
# (data/train_clean_100, data/dev_clean, data/test_clean, ...; tts_codec.recipes.librispeech) and data/train =
# the selected train-* subsets combined.
set -euo pipefail
download=false
subsets=train-clean-100,dev-clean,test-clean
keep_archives=false
help_message="Usage: local/data.sh [--download false] [--subsets train-clean-100,dev-clean,test-clean]
  [--keep_archives false]   (corpus root: \$LIBRISPEECH, the directory that holds LibriSpeech/)"
. utils/parse_options.sh
. ./path.sh
. ./db.sh

root=${LIBRISPEECH:-downloads}
if [ "${download}" = true ]; then
  ${PYTHON} -m tts_codec.bin.download_corpus librispeech --root "${root}" --archive_dir downloads \
    --subsets "${subsets}" --keep_archives "${keep_archives}"
fi
if [ ! -d "${root}/LibriSpeech" ]; then
  echo "$0: error: '${root}/LibriSpeech' does not exist: set LIBRISPEECH in db.sh or the environment to the" \
       "directory holding LibriSpeech/, or fetch it with --local_data_opts '--download true'" >&2
  exit 2
fi
${PYTHON} -m tts_codec.bin.prepare_corpus librispeech --root "${root}/LibriSpeech" --out_dir data \
  --subsets "${subsets}" --overwrite true
train_dirs=()
for subset in ${subsets//,/ }; do
  [[ "${subset}" == train-* ]] && train_dirs+=("data/${subset//-/_}")
done
if [ ${#train_dirs[@]} -eq 0 ]; then
  echo "$0: error: --subsets '${subsets}' selects no train-* subset, so there is no data/train" >&2
  exit 2
fi
utils/combine_data.sh --overwrite true data/train "${train_dirs[@]}"
