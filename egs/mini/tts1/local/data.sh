#!/usr/bin/env bash
# Stage 1 of the mini recipe: make the synthetic corpus (eSpeak NG, offline, deterministic from --seed) as a raw
# corpus under downloads/, then copy its Kaldi data dirs to data/{train,dev,test}.
set -euo pipefail
num_speakers=10
utts_per_speaker=12
sample_rate=24000      # the highest codec rate; stage 2 resamples to the family's rate
seed=0
help_message="Usage: local/data.sh [--num_speakers N] [--utts_per_speaker N] [--sample_rate SR] [--seed S]"
. utils/parse_options.sh
. ./path.sh

corpus=downloads/mini_corpus
if [ ! -f "${corpus}/.done" ]; then
  ${PYTHON} -m tts_codec.bin.make_synthetic_corpus --out_dir "${corpus}" --num_speakers "${num_speakers}" \
    --utts_per_speaker "${utts_per_speaker}" --sample_rate "${sample_rate}" --seed "${seed}" --overwrite true
  touch "${corpus}/.done"
fi
for dset in train dev test; do
  rm -rf "data/${dset}"
  utils/copy_data_dir.sh "${corpus}/${dset}" "data/${dset}"
done
