#!/usr/bin/env bash
# `make demo`: the shipped mini models speak without any training. A handful of test sentences of the synthetic
# corpus (sentences no shipped model trained on) are spoken by zero-shot voice clone (the prompt: another recording
# of the same speaker) and by voice creation (the utterance's gender/pitch/speed labels; Spark only), scored with the
# evaluation suite beside the eSpeak ground truth, and written up as one report (RESULTS.md + html/index.html)
# comparing every model dir of --model_dirs (by default both shipped families, Spark and MARS6, side by side).
# `make demo-train` (./run.sh) retrains everything from scratch instead.
# Run from egs/mini/tts1; options: local/demo.sh --help
set -euo pipefail
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') ($(basename "$0"):${BASH_LINENO[0]}) $*" >&2; }
command_line=$(printf '%q ' "$0" "$@")

stage=1
stop_stage=5
model_dirs="pretrained/spark_mini pretrained/mars6_mini"  # packed model dirs (blank-separated); each one's
                            # model_dir.json names its family (spark: clone + creation; mars6: clone)
num_utts=3                  # target sentences per test speaker (the test speakers' first ones, in C order)
local_data_opts=""          # stage 1 corpus options, passed to ./run.sh (data/ and dump/raw/ are the recipe's own)
metrics="wer,sim_o,gender,pitch,speed"  # tts_codec.bin.score --metrics (voice creation has no prompt: no sim_o)
asr_beam=5                  # Whisper tiny.en beam (evaluation.md: 5 for reported numbers)
seed=0                      # sampling seed (with the utterance id, it seeds each utterance)
deep_clone_mode=none        # mars6: none (shallow clone, as recipe stage 10), fixed-ref or per-chunk (deep clone
                            # with the prompt's transcript; the mini MARS6 stops early in it: RESULTS.md)
dir=exp/demo                # everything the demo writes, the report at its top
help_message=$(cat <<EOF
Usage: $0 [options]   (from egs/mini/tts1; \`make demo\` runs it with the defaults)
Stages (--stage N --stop_stage M; a rerun skips finished stages, so the same command resumes):
  1 data: ./run.sh --stop_stage 2 (the synthetic corpus, 16 kHz dumps)
  2 demo set: --num_utts test sentences per speaker, their attribute labels, the clone list (prompts)
  3 speech: clone and creation by every model dir
  4 scoring (ground truth and every system)    5 report: ${dir}/RESULTS.md, ${dir}/html/index.html
Options (default in brackets):
  --stage [${stage}] --stop_stage [${stop_stage}] --model_dirs ["${model_dirs}"] --num_utts [${num_utts}]
  --local_data_opts [""] --metrics [${metrics}] --asr_beam [${asr_beam}] --seed [${seed}] --dir [${dir}]
  --deep_clone_mode [${deep_clone_mode}] (mars6: none|fixed-ref|per-chunk)
EOF
)
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: error: unexpected argument '$1' (options are --name value)" >&2; exit 2; }
[ -x ./run.sh ] && [ -f ./path.sh ] || { echo "$0: error: run it from the recipe directory (egs/mini/tts1)" >&2; exit 2; }
for opt in stage stop_stage num_utts asr_beam; do
  [[ "${!opt}" =~ ^[1-9][0-9]{0,5}$ ]] || { echo "$0: error: --${opt} must be a whole number >= 1, not '${!opt}'" >&2; exit 2; }
done
[[ "${seed}" =~ ^[0-9]{1,9}$ ]] || { echo "$0: error: --seed must be a whole number >= 0, not '${seed}'" >&2; exit 2; }
[[ "${deep_clone_mode}" =~ ^(none|fixed-ref|per-chunk)$ ]] \
  || { echo "$0: error: --deep_clone_mode must be none, fixed-ref or per-chunk, not '${deep_clone_mode}'" >&2; exit 2; }
[ "${stop_stage}" -ge "${stage}" ] && [ "${stage}" -le 5 ] \
  || { echo "$0: error: --stage ${stage} --stop_stage ${stop_stage} selects none of the stages 1..5" >&2; exit 2; }
read -r -a models <<< "${model_dirs}"
[ ${#models[@]} -gt 0 ] || { echo "$0: error: --model_dirs is empty" >&2; exit 2; }
for model in "${models[@]}"; do
  [ -f "${model}/model_dir.json" ] || { echo "$0: error: --model_dirs: ${model}/model_dir.json not found (a packed" \
    "model dir: tts_codec.bin.pack_model, or the shipped ones in pretrained/)" >&2; exit 2; }
done
. ./path.sh

# A stage runs when it is selected and its marker (a checksum of its inputs and options, chained through the
# stages, so a changed option redoes the stages after it) is missing.
begin() {  # begin N NAME KEY: 0 = run stage N now
  [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ] || return 1
  if [ -f "${dir}/.stage$1.$3.done" ]; then log "stage $1 ($2): already done"; return 1; fi
  log "stage $1: $2"
  log "  resume: ${command_line}(finished stages are skipped)"
  rm -f "${dir}/.stage$1".*.done
  return 0
}
end() { mkdir -p "${dir}"; date '+%Y-%m-%dT%H:%M:%S' > "${dir}/.stage$1.$2.done"; log "stage $1: done"; }
key() { { printf '%s\n' "$@"; for arg in "$@"; do [ -f "${arg}" ] && cat "${arg}"; done; true; } | cksum | cut -d' ' -f1; }

test_dir=dump/raw/test
data=${dir}/data            # the target utterances (ground truth) with their labels
clone_list=${dir}/clone     # meta.lst: target|prompt text|prompt wav|target text

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
  log "stage 1: data (./run.sh --stop_stage 2; its own stages say how to resume)"
  ./run.sh --stop_stage 2 --local_data_opts "${local_data_opts}"
fi
[ "${stop_stage}" -ge 2 ] || exit 0
[ -f "${test_dir}/wav.scp" ] || { echo "$0: error: ${test_dir}/wav.scp missing: run stage 1 first" >&2; exit 2; }

key2=$(key "${num_utts}" "${test_dir}/wav.scp" "${test_dir}/text")
if begin 2 "demo set: ${num_utts} sentences per test speaker -> ${data}, ${clone_list}" "${key2}"; then
  rm -rf "${data}" "${clone_list}" "${dir}/all_clone" "${dir}/eval"
  for model in "${models[@]}"; do rm -rf "${dir}/$(basename "${model}")"; done  # spoken from an older set
  utils/subset_data_dir.sh --per-spk "${test_dir}" "${num_utts}" "${data}"
  ${PYTHON} -m tts_codec.bin.extract_attributes --data_dir "${data}"
  # prompts come from the whole test set (another sentence of the same speaker); the list keeps the demo targets
  ${PYTHON} -m tts_codec.bin.make_eval_list clone --data_dir "${test_dir}" --out_dir "${dir}/all_clone"
  mkdir -p "${clone_list}"
  awk -F'|' 'NR == FNR { split($0, f, " "); keep[f[1]]; next } $1 in keep' "${data}/utt2spk" "${dir}/all_clone/meta.lst" \
    > "${clone_list}/meta.lst.tmp"
  mv "${clone_list}/meta.lst.tmp" "${clone_list}/meta.lst"
  log "  $(wc -l < "${data}/utt2spk") targets, $(wc -l < "${clone_list}/meta.lst") with a clone prompt"
  end 2 "${key2}"
fi

# speak MODEL: clone and creation of the demo set by one packed model dir, into ${dir}/<its name>/decode_{clone,
# create}. A family joins the demo with one branch here (its decode verbs); stages 4-5 are family-neutral.
speak() {
  # Stage 3 runs only when its marker is missing: its inputs or options changed (or it was interrupted), so the
  # decodings of an earlier run are stale and are replaced (--overwrite true; the decoders refuse other settings).
  local model=$1 out=${dir}/$(basename "$1") info family codec lm speaker
  info=$(${PYTHON} -c 'import json, sys; m = json.load(open(sys.argv[1])); p = m["parts"]
print(m["family"], p["codec"], p["lm"], p.get("speaker") or "-")' "${model}/model_dir.json")
  read -r family codec lm speaker <<< "${info}"
  case "${family}" in
    spark)
      ${PYTHON} -m tts_codec.bin.tts_decode --task clone --meta_lst "${clone_list}/meta.lst" \
        --codec_dir "${model}/${codec}" --lm_dir "${model}/${lm}" --out_dir "${out}/decode_clone" --seed "${seed}" \
        --overwrite true
      ${PYTHON} -m tts_codec.bin.tts_decode --task create --data_dir "${data}" \
        --codec_dir "${model}/${codec}" --lm_dir "${model}/${lm}" --out_dir "${out}/decode_create" --seed "${seed}" \
        --overwrite true ;;
    mars6)  # clone only: MARS6 has no voice creation
      local opts=() ; [ "${speaker}" = - ] || opts=(--speaker_model_dir "${model}/${speaker}")
      ${PYTHON} -m tts_codec.bin.mars6_decode --meta_lst "${clone_list}/meta.lst" --codec_dir "${model}/${codec}" \
        --lm_dir "${model}/${lm}" --out_dir "${out}/decode_clone" --seed "${seed}" \
        --deep_clone_mode "${deep_clone_mode}" --overwrite true "${opts[@]}" ;;
    *) echo "$0: error: ${model}: the demo cannot speak with family '${family}' yet (add its decode verbs to" \
         "speak() in local/demo.sh)" >&2; exit 2 ;;
  esac
}
key3=$(key "${key2}" "${seed}" "${deep_clone_mode}" "${model_dirs}" $(for m in "${models[@]}"; do echo "${m}/model_dir.json"; done))
if begin 3 "speech: clone and creation by ${model_dirs}" "${key3}"; then
  for model in "${models[@]}"; do
    speak "${model}"
    log "  $(basename "${model}"): $(cat "${dir}/$(basename "${model}")"/decode_*/wav/wav.scp | wc -l) wavs"
  done
  end 3 "${key3}"
fi

# The systems of the report, `name:wav.scp` (ground truth first; creation scored without the prompt metrics).
systems=("ground_truth:${data}/wav.scp")
for model in "${models[@]}"; do
  name=$(basename "${model}")
  for task in clone create; do
    scp=${dir}/${name}/decode_${task}/wav/wav.scp
    if [ -s "${scp}" ]; then systems+=("${name}_${task}:${scp}"); fi
  done
done
key4=$(key "${key3}" "${metrics}" "${asr_beam}" "${systems[@]}")
if begin 4 "scoring (${metrics}; Whisper beam ${asr_beam})" "${key4}"; then
  for system in "${systems[@]}"; do
    name=${system%%:*} gen=${system#*:}
    if [[ "${name}" == *_create ]]; then
      opts=(--metrics "$(echo ",${metrics}," | sed 's/,sim_o,/,/; s/^,//; s/,$//')" --protocol "voice creation (demo)")
    else
      opts=(--metrics "${metrics}" --meta_lst "${clone_list}/meta.lst" --protocol "zero-shot clone (demo)")
    fi
    ${PYTHON} -m tts_codec.bin.score "${opts[@]}" --ref_dir "${data}" --gen_scp "${gen}" --asr_beam "${asr_beam}" \
      --out_dir "${dir}/eval/${name}" --overwrite true
  done
  end 4 "${key4}"
fi

key5=$(key "${key4}")
if begin 5 "report -> ${dir}/RESULTS.md, ${dir}/html/index.html" "${key5}"; then
  args=()
  for system in "${systems[@]}"; do
    args+=(--score_dir "${dir}/eval/${system%%:*}" --name "${system%%:*}" --gen_scp "${system#*:}")
  done
  ${PYTHON} -m tts_codec.bin.make_report "${args[@]}" --ref_dir "${data}" --out_dir "${dir}" --overwrite true \
    --title "mini demo: $(wc -l < "${data}/utt2spk") test sentences, clone and creation by ${model_dirs}"
  end 5 "${key5}"
fi
if [ -f "${dir}/RESULTS.md" ]; then
  sed -n '/^#* *Metrics$/,/^↑/p' "${dir}/RESULTS.md" >&2
  log "report: ${dir}/RESULTS.md, listening page: ${dir}/html/index.html"
fi
