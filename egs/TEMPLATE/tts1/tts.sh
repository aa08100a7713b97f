#!/usr/bin/env bash
# The common stage script of every tts_codec recipe (ESPnet's tts.sh, made thin): each stage is one or a few
# `python -m tts_codec.bin.<verb>` calls. A corpus recipe only writes local/data.sh and a short run.sh that
# sets its variables and calls this script. Stage numbers are the same in every recipe (see README).
set -euo pipefail

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*" >&2; }

# ---- defaults (every one can be set as --name value; --config FILE reads name=value lines) ----
stage=1                 # first stage to run
stop_stage=12           # last stage to run
nj=4                    # parallel jobs for data processing
inference_nj=4          # parallel jobs for tokenization, decoding and scoring
ngpu=0                  # GPUs per node for training (0 = CPU)
num_nodes=1             # nodes for training (DDP through Lightning; SLURM/torchrun environments are detected)
model_family=spark      # spark (BiCodec + Qwen2 LM, 16 kHz) or mars6 (SNAC 24 kHz + MARS6)
fs=                     # codec sample rate; empty = the family's (spark 16000, mars6 24000)
train_set=train
valid_set=dev
test_sets="test"
min_dur=0.5             # seconds; shorter utterances are dropped in stage 2
max_dur=30              # seconds; longer utterances are dropped in stage 2
local_data_opts=""      # passed to local/data.sh
dumpdir=dump
expdir=exp
force=false             # true: redo stages whose .done marker exists

help_message=$(cat <<EOF
Usage: $0 [options]   (usually called through a recipe's run.sh)
Stages (--stage N --stop_stage M):
   1 data preparation (local/data.sh)        7 codec resynthesis + codec scoring
   2 audio formatting (resample, filter)      8 LM training
   3 feature extraction                       9 preference fine-tuning
   4 text tokenizer                          10 TTS decoding
   5 codec training                          11 scoring and reports
   6 codec tokenization                      12 packing
Options (default in brackets):
  --stage [${stage}] --stop_stage [${stop_stage}] --nj [${nj}] --inference_nj [${inference_nj}]
  --ngpu [${ngpu}] --num_nodes [${num_nodes}] --model_family [${model_family}] (spark|mars6) --fs [family default]
  --train_set [${train_set}] --valid_set [${valid_set}] --test_sets ["${test_sets}"]
  --min_dur [${min_dur}] --max_dur [${max_dur}] --local_data_opts [""] --dumpdir [${dumpdir}] --expdir [${expdir}]
  --force [${force}]  redo stages that are marked done
  --config FILE       name=value lines, overridden by later command-line options
EOF
)

. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: error: unexpected argument '$1' (options are --name value)" >&2; exit 2; }
. ./path.sh
. ./cmd.sh

case "${model_family}" in
  spark) : "${fs:=16000}" ;;
  mars6) : "${fs:=24000}" ;;
  *) echo "$0: error: --model_family must be spark or mars6, not '${model_family}'" >&2; exit 2 ;;
esac
# The command that started the recipe (run.sh exports it), so every stage can print how to resume from it.
run_cmd=${TTS_RUN_CMD:-$0}

# stage_begin N NAME MARKER: returns 1 (skip) when N is outside --stage/--stop_stage or MARKER says it is done.
stage_begin() {
  local n=$1 name=$2 marker=$3
  [ "${stage}" -le "${n}" ] && [ "${stop_stage}" -ge "${n}" ] || return 1
  if [ -f "${marker}" ] && [ "${force}" != true ]; then
    log "stage ${n} (${name}): already done (${marker}); --force true redoes it"
    return 1
  fi
  log "stage ${n}: ${name}"
  log "  resume from this stage with: ${run_cmd} --stage ${n}"
  mkdir -p "${expdir}"
  printf '#!/usr/bin/env bash\n# Resume the recipe from stage %s (written when that stage started).\ncd %q\n%s --stage %s "$@"\n' \
    "${n}" "${PWD}" "${run_cmd}" "${n}" > "${expdir}/.resume.sh.tmp" && mv "${expdir}/.resume.sh.tmp" "${expdir}/resume.sh"
  chmod +x "${expdir}/resume.sh"
  return 0
}
stage_end() {  # stage_end N MARKER
  mkdir -p "$(dirname "$2")"
  date '+%Y-%m-%dT%H:%M:%S' > "$2"
  log "stage $1: done"
}
not_yet() {  # not_yet N NAME ISSUE: stages written down but not implemented in this version
  if [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ]; then
    log "stage $1 ($2): not implemented yet in tts_codec (tracked as: $3); skipping"
  fi
}
# num_jobs DIR N: N, or fewer when DIR has fewer utterances than N.
num_jobs() {
  local utts; utts=$(wc -l < "$1/utt2spk")
  echo $(( $2 < utts ? $2 : utts ))
}

all_sets="${train_set} ${valid_set} ${test_sets}"

# ---- 1. data preparation ----
if stage_begin 1 "data preparation (local/data.sh ${local_data_opts})" "data/.stage1.done"; then
  # shellcheck disable=SC2086
  local/data.sh ${local_data_opts}
  for dset in ${all_sets}; do
    utils/validate_data_dir.sh "data/${dset}"
  done
  stage_end 1 "data/.stage1.done"
fi

# ---- 2. audio formatting: resample to ${fs} Hz, utt2num_samples, duration filter, validation ----
if stage_begin 2 "audio formatting (${fs} Hz, ${min_dur}-${max_dur} s)" "${dumpdir}/raw/.stage2.${fs}.done"; then
  for dset in ${all_sets}; do
    n=$(num_jobs "data/${dset}" "${nj}")
    utils/split_data.sh "data/${dset}" "${n}" >/dev/null   # data/<set>/split<n>/{1..n}; an up-to-date split is reused
    parts="${dumpdir}/raw/org/${dset}"
    ${train_cmd} JOB=1:"${n}" "${parts}/log/format.JOB.log" \
      ${PYTHON} -m tts_codec.bin.format_audio --in_dir "data/${dset}/split${n}/JOB" \
        --out_dir "${parts}/format.JOB" --fs "${fs}" --min_dur "${min_dur}" --max_dur "${max_dur}" --overwrite true
    rm -rf "${dumpdir}/raw/${dset}"
    utils/combine_data.sh "${dumpdir}/raw/${dset}" $(for i in $(seq "${n}"); do echo "${parts}/format.${i}"; done)
    cat "${parts}"/format.*/filtered_utts > "${dumpdir}/raw/${dset}/filtered_utts"
    utils/validate_data_dir.sh "${dumpdir}/raw/${dset}"
    log "  ${dset}: $(wc -l < "${dumpdir}/raw/${dset}/utt2spk") utterances kept," \
        "$(wc -l < "${dumpdir}/raw/${dset}/filtered_utts") filtered (see ${dumpdir}/raw/${dset}/filtered_utts)"
  done
  stage_end 2 "${dumpdir}/raw/.stage2.${fs}.done"
fi

not_yet 3 "feature extraction" "issue 3 (BiCodec SSL features) / MARS6 speaker embeddings"
not_yet 4 "text tokenizer" "LM issues"
not_yet 5 "codec training" "issue 3"
not_yet 6 "codec tokenization" "issue 3"
not_yet 7 "codec resynthesis and scoring" "issues 3 and 4"
not_yet 8 "LM training" "LM issues"
not_yet 9 "preference fine-tuning" "MARS6 issues"
not_yet 10 "TTS decoding" "LM issues"
not_yet 11 "scoring and reports" "issue 4"
not_yet 12 "packing" "later"
log "finished stages ${stage}-${stop_stage}"
