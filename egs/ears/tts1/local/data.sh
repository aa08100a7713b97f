#!/usr/bin/env bash
# Stage 1 of the EARS recipe: optionally download the corpus, then Kaldi data dirs data/{train,dev,test} of the
# transcribed items (tts_codec.recipes.ears) and the MARS6-style zero-shot list data/test_clone (each test item
# paired with another item of the same speaker: same style and other text, or another emotion).
set -euo pipefail
download=false
speakers=p001-p107
train_speakers=p001-p099
dev_speakers=p100-p101
test_speakers=p102-p107
keep_archives=false
help_message="Usage: local/data.sh [--download false] [--speakers p001-p107] [--train_speakers p001-p099]
  [--dev_speakers p100-p101] [--test_speakers p102-p107] [--keep_archives false]   (corpus root: \$EARS)"
. utils/parse_options.sh
. ./path.sh
. ./db.sh

root=${EARS:-downloads/ears}
if [ "${download}" = true ]; then
  ${PYTHON} -m tts_codec.bin.download_corpus ears --root "${root}" --archive_dir downloads/ears_zip \
    --speakers "${speakers}" --keep_archives "${keep_archives}"
fi
if [ ! -d "${root}" ]; then
  echo "$0: error: EARS root '${root}' does not exist: set EARS in db.sh or the environment," \
       "or fetch it with --local_data_opts '--download true'" >&2
  exit 2
fi
${PYTHON} -m tts_codec.bin.prepare_corpus ears --root "${root}" --out_dir data --train "${train_speakers}" \
  --dev "${dev_speakers}" --test "${test_speakers}" --overwrite true
${PYTHON} -m tts_codec.bin.make_eval_list ears --data_dir data/test --out_dir data/test_clone \
  --speakers "${test_speakers}" --overwrite true
