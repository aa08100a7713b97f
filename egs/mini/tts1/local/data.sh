#!/usr/bin/env bash
# Stage 1 of the mini recipe: make the synthetic corpus (eSpeak NG, offline, deterministic from --seed) as a raw
# corpus under downloads/, then copy its Kaldi data dirs to data/{train,dev,test}.
set -euo pipefail
size=small             # small: the CI/demo corpus below; large: 16 voices, about 75 min; xlarge: 4x large's training
                       # utterances, same dev and test; xxlarge / xxxlarge: 16x / 32x, about 20 / 40 h
                       # (make_synthetic_corpus --size)
num_speakers=10        # small only
utts_per_speaker=12    # small only
sample_rate=24000      # the highest codec rate; stage 2 resamples to the family's rate
seed=0
splice_sentences=false # true: training utterances read halves of two list sentences joined (make_synthetic_corpus
                       # --splice_sentences; distinct texts, dev and test unchanged); its own downloads/ corpus
help_message="Usage: local/data.sh [--size small|large|xlarge|xxlarge|xxxlarge] [--num_speakers N] [--utts_per_speaker N] [--sample_rate SR] [--seed S] [--splice_sentences true|false]"
. utils/parse_options.sh
. ./path.sh

case "${size}" in
  small) corpus=downloads/mini_corpus
         size_opts=(--num_speakers "${num_speakers}" --utts_per_speaker "${utts_per_speaker}") ;;
  large|xlarge|xxlarge|xxxlarge) corpus=downloads/mini_corpus_${size}
         size_opts=(--size "${size}") ;;
  *) echo "$0: error: --size must be small, large, xlarge, xxlarge or xxxlarge, got '${size}'" >&2; exit 2 ;;
esac
if [ "${splice_sentences}" = true ]; then  # parse_options.sh accepts only true/false here
  corpus=${corpus}_spliced
  size_opts+=(--splice_sentences true)
fi
if [ ! -f "${corpus}/.done" ]; then
  ${PYTHON} -m tts_codec.bin.make_synthetic_corpus --out_dir "${corpus}" "${size_opts[@]}" \
    --sample_rate "${sample_rate}" --seed "${seed}" --overwrite true
  touch "${corpus}/.done"
fi
for dset in train dev test; do
  rm -rf "data/${dset}"
  utils/copy_data_dir.sh "${corpus}/${dset}" "data/${dset}"
done
