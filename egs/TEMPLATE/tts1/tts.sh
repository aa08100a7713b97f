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
train_threads=          # CPU threads of each training process (stages 5, 8, 9); empty = every core (nproc) on CPU
                        # (--ngpu 0), 1 per GPU process otherwise (path.sh gives the parallel jobs 1 thread each)
model_family=spark      # spark (BiCodec + Qwen2 LM, 16 kHz) or mars6 (SNAC 24 kHz + MARS6)
fs=                     # codec sample rate; empty = the family's (spark 16000, mars6 24000)
train_set=train
valid_set=dev
test_sets="test"
min_dur=0.5             # seconds; shorter utterances are dropped in stage 2
max_dur=30              # seconds; longer utterances are dropped in stage 2
local_data_opts=""      # passed to local/data.sh
dumpdir=""              # empty: the family's (spark: dump; mars6: dump/mars6, so its 24 kHz data sits beside spark's)
expdir=exp
force=false             # true: redo stages whose .done marker exists
codec_config=""         # codec training config (stage 3 uses its ssl_conf, stage 5 trains with it); default below
codec_tag=""            # experiment name of the codec (default: the codec config's file name)
ssl_model_dir=""        # local wav2vec2 directory for the SSL features (overrides the config's ssl_conf.model_dir)
codec_max_steps=""      # training steps (default: the config's trainer.max_steps)
codec_args=""           # extra options appended to stage 5's tts_codec.bin.train_codec call, e.g. "--batch_size 4"
codec_reference_runs="" # stage 7: TSV of measured runs (e.g. the recipe's long runs) set beside this run's codec
                        # scores in its report (tts_codec.eval.report.reference_runs); empty: the family's, or none
bpe_vocab_size=""       # stage 4: BPE vocabulary of the text tokenizer; empty: the family's (below)
pretrained_llm_dir=""   # stage 4: an official Spark-TTS LLM/ dir whose tokenizer is used unchanged
g2p=""                  # stage 4: text front end before the BPE (none|espeak_ipa, as ESPnet's --g2p); empty: the family's
token_list=""           # stage 4's tokenizer dir (default: data/token_list/<family>_bpe<N>[_<g2p>], or <family>_pretrained)
lm_config=""            # LM training config (stage 8, e.g. conf/lm/spark_tiny.yaml); default below
# Per-family defaults of the three options above: a recipe's run.sh names both families' configs, --model_family
# picks, and a plain --codec_config / --lm_config / --bpe_vocab_size wins.
spark_codec_config="" ; spark_lm_config="" ; spark_bpe_vocab_size=1000 ; spark_g2p=none
mars6_codec_config="" ; mars6_lm_config="" ; mars6_bpe_vocab_size=512 ; mars6_g2p=none
spark_codec_reference_runs="" ; mars6_codec_reference_runs=""
lm_args=""              # extra options appended to stage 8's tts_codec.bin.train_lm call, e.g. "--max_steps 20"
lm_tag=""               # experiment name of the LM (default: the LM config's file name, else the family)
keep_corpus_labels=false  # stage 3: keep the pitch/speed labels a corpus ships (e.g. VoxBox's metadata) where known
xvector_model_dir=""    # mars6 stages 3, 9, 10: a local WavLM-SV dir for the x-vectors (default: the LM config's
                        # speaker_embedding section)
pref_config=""          # mars6 stage 9: tts_codec.bin.mars6_preference options (YAML, e.g. conf/mars6_orpo.yaml)
pref_args=""            # extra options appended to stage 9's mars6_preference call, e.g. "--max_steps 5"
pref_set=""             # stage 9's prompts: utterances of this set (default: the training set) ...
pref_per_spk=2          # ... this many per speaker, each cloned from another utterance of its speaker
deep_clone_mode=none    # mars6 stage 10: none (shallow clone), fixed-ref or per-chunk (deep clone with the prompt)
tts_decode_args=""      # extra options of stage 10's decoder (tts_decode; mars6: mars6_decode), e.g. "--seed 1"
codec_metrics="pesq,stoi,mel,sim,dnsmos"   # stage 7 (tts_codec.bin.score --metrics)
# stage 11 (pitch/speed: against the stage-3 labels); EER is added when the test set has several speakers
tts_metrics="wer,sim_o,dnsmos,gender,pitch,speed"
asr_beam=5              # Whisper beam for WER (evaluation.md: beam 5 for reported numbers, 1 is faster)
asr_model_dir=""        # local Whisper CTranslate2 dir for WER (default: the bundled tiny.en, a proxy)
speaker_model_dir=""    # local WavLM speaker-verification dir for SIM (default: resemblyzer, a proxy)

help_message=$(cat <<EOF
Usage: $0 [options]   (usually called through a recipe's run.sh)
Stages (--stage N --stop_stage M):
   1 data preparation (local/data.sh)        7 codec resynthesis + codec scoring
   2 audio formatting (resample, filter)      8 LM training
   3 features, x-vectors (mars6), labels      9 preference fine-tuning (mars6: ORPO)
   4 text tokenizer                          10 TTS decoding
   5 codec training                          11 scoring and reports
   6 codec tokenization                      12 packing
Options (default in brackets):
  --stage [${stage}] --stop_stage [${stop_stage}] --nj [${nj}] --inference_nj [${inference_nj}]
  --ngpu [${ngpu}] --num_nodes [${num_nodes}] --model_family [${model_family}] (spark|mars6) --fs [family default]
  --train_threads [every core on CPU, else 1]  torch threads of each training process (stages 5, 8, 9)
  --train_set [${train_set}] --valid_set [${valid_set}] --test_sets ["${test_sets}"]
  --min_dur [${min_dur}] --max_dur [${max_dur}] --local_data_opts [""] --dumpdir [dump; mars6: dump/mars6]
  --expdir [${expdir}]
  --force [${force}]  redo stages that are marked done
  --codec_reference_runs [family's]  stage 7: TSV of measured runs set beside the codec scores in its report
  --codec_config [""] --codec_tag [config name] --ssl_model_dir [config] --codec_max_steps [config]
  --codec_args [""]   extra options of stage 5's python -m tts_codec.bin.train_codec (as ESPnet's --train_args)
  --bpe_vocab_size [family's] --pretrained_llm_dir [""] --token_list [data/token_list/<family>_bpe<N>[_<g2p>]]
  --g2p [family's] (none|espeak_ipa)  stage 4: the LM reads the text (none) or eSpeak NG IPA phonemes
  --{spark,mars6}_{codec_config,lm_config,bpe_vocab_size,g2p}  each family's default of --codec_config,
                      --lm_config, --bpe_vocab_size and --g2p (a recipe's run.sh sets both families'; BPE: spark 1000,
                      mars6 512; g2p: none)
  --lm_config [""] --lm_tag [config name]
  --lm_args [""]      extra options of stage 8's python -m tts_codec.bin.train_lm (e.g. "--max_steps 20")
  --keep_corpus_labels [${keep_corpus_labels}]  stage 3: keep a corpus' own pitch/speed labels, measure only the rest
  --xvector_model_dir [LM config]  mars6: local WavLM-SV dir of the x-vectors (stages 3, 9, 10)
  --pref_config [""] --pref_args [""]  mars6 stage 9: python -m tts_codec.bin.mars6_preference --config / extra options
  --pref_set [train_set] --pref_per_spk [${pref_per_spk}]  stage 9's prompts (utterances per speaker of that set)
  --deep_clone_mode [${deep_clone_mode}] (none|fixed-ref|per-chunk)  mars6 stage 10: shallow or deep clone
  --tts_decode_args [""]  extra options of stage 10's python -m tts_codec.bin.tts_decode (mars6: mars6_decode)
  --codec_metrics [${codec_metrics}] --tts_metrics [${tts_metrics}] --asr_beam [${asr_beam}]
  --asr_model_dir [bundled tiny.en] --speaker_model_dir [resemblyzer]
  --config FILE       name=value lines, overridden by later command-line options
Families: spark has stages 1-8, 10-12; mars6 (SNAC + MARS6 at 24 kHz) has 1-12 (stage 12 packs the stage-9
model when there is one). A stage the family does not have is skipped with a message inside a range that has other stages;
a range of only such stages is an error. Stages 9, 10, 12 need the LM of stage 8 (skipped without it, likewise).
mars6: stage 3 writes x-vectors (<dumpdir>/xvector/<set>), stage 9 fine-tunes the stage-8 model with ORPO on
automatically scored candidate pairs into ${expdir}/lm_<lm_tag>_pref, and stages 10-11 decode and score both
models with the same seed. Stage 12 packs the models into ${expdir}/packed/<lm_tag> (tts_codec.bin.pack_model).
EOF
)

. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$0: error: unexpected argument '$1' (options are --name value)" >&2; exit 2; }

# ---- option checks: every numeric option once, one message each, before any stage runs ----
option_error() { echo "$0: error: $*" >&2; exit 2; }
check_int() {  # check_int NAME MIN: --NAME must be a whole number >= MIN
  [[ "${!1}" =~ ^(0|[1-9][0-9]{0,8})$ ]] && [ "${!1}" -ge "$2" ] || option_error "--$1 must be a whole number >= $2, not '${!1}'"
}
check_seconds() {  # check_seconds NAME: --NAME must be a number of seconds >= 0
  [[ "${!1}" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] || option_error "--$1 must be a number of seconds >= 0, not '${!1}'"
}
[[ "${model_family}" =~ ^(spark|mars6)$ ]] \
  || option_error "--model_family must be spark or mars6, not '${model_family}'"
# the family's default where the option is not given
for opt in codec_config lm_config bpe_vocab_size g2p codec_reference_runs; do
  family_opt="${model_family}_${opt}"
  [ -n "${!opt}" ] || printf -v "${opt}" '%s' "${!family_opt:-}"
done

last_stage=12
for opt in stage stop_stage nj inference_nj num_nodes; do check_int "${opt}" 1; done
check_int ngpu 0
check_int bpe_vocab_size 1
check_int pref_per_spk 2
case "${g2p}" in none|espeak_ipa) ;; *) option_error "--g2p must be none or espeak_ipa, not '${g2p}'" ;; esac
[ "${g2p}" = none ] || [ -z "${pretrained_llm_dir}" ] \
  || option_error "--g2p ${g2p}: an official tokenizer (--pretrained_llm_dir) reads plain text; drop one of them"
[ -z "${codec_reference_runs}" ] || [ -f "${codec_reference_runs}" ] \
  || option_error "--codec_reference_runs: ${codec_reference_runs} is not a file"
case "${deep_clone_mode}" in none|fixed-ref|per-chunk) ;;
  *) option_error "--deep_clone_mode must be none, fixed-ref or per-chunk, not '${deep_clone_mode}'" ;; esac
for opt in fs codec_max_steps train_threads; do [ -z "${!opt}" ] || check_int "${opt}" 1; done
if [ -z "${train_threads}" ]; then
  if [ "${ngpu}" -gt 0 ]; then train_threads=1; else train_threads=$(nproc); fi
fi
check_int asr_beam 1
check_seconds min_dur; check_seconds max_dur
awk -v a="${min_dur}" -v b="${max_dur}" 'BEGIN { exit !(a < b) }' \
  || option_error "--min_dur ${min_dur} must be below --max_dur ${max_dur}"
[ "${stage}" -le "${last_stage}" ] || option_error "--stage ${stage}: the stages are 1..${last_stage}"
[ "${stop_stage}" -ge "${stage}" ] \
  || option_error "--stage ${stage} --stop_stage ${stop_stage} selects no stage (stop_stage must be >= stage)"
for opt in ssl_model_dir asr_model_dir speaker_model_dir pretrained_llm_dir xvector_model_dir; do
  [ -z "${!opt}" ] || [ -d "${!opt}" ] || option_error "--${opt} ${!opt}: no such directory"
done
for opt in codec_config lm_config pref_config; do
  [ -z "${!opt}" ] || [ -f "${!opt}" ] || option_error "--${opt} ${!opt}: no such file"
done

# ---- model families: their sample rate, the stages that exist for them, what stage 3 extracts, the file that
# marks a finished LM model dir, the dump and report roots. The Python verbs pick
# the codec/LM class from the configs' `codec:`/`lm:` keys; these tables hold only what the stage commands differ in.
# Stage 12 packs the stage-9 (ORPO) model of mars6 when there is one. ----
declare -A family_fs=([spark]=16000 [mars6]=24000)
declare -A family_stages=([spark]="1 2 3 4 5 6 7 8 10 11 12" [mars6]="1 2 3 4 5 6 7 8 9 10 11 12")
declare -A family_features=([spark]="ssl_feats labels" [mars6]="xvectors labels")
declare -A family_lm_file=([spark]=config.json [mars6]=config.yaml)
declare -A family_dumpdir=([spark]=dump [mars6]=dump/mars6)
declare -A family_eval=([spark]=eval [mars6]=eval_mars6)   # stage 11's reports: <expdir>/<this>/<set>
: "${fs:=${family_fs[${model_family}]}}"
: "${dumpdir:=${family_dumpdir[${model_family}]}}"
lm_file=${family_lm_file[${model_family}]}
eval_root="${expdir}/${family_eval[${model_family}]}"
has_feature() { [[ " ${family_features[${model_family}]} " == *" $1 "* ]]; }
selected=() ; not_for_family=() ; not_for_any=()
for n in $(seq "${stage}" "$(( stop_stage < last_stage ? stop_stage : last_stage ))"); do
  if [[ " ${family_stages[${model_family}]} " == *" ${n} "* ]]; then selected+=("${n}")
  elif [[ " ${family_stages[*]} " == *" ${n} "* ]]; then not_for_family+=("${n}")
  else not_for_any+=("${n}"); fi
done
[ ${#selected[@]} -gt 0 ] || [ ${#not_for_family[@]} -eq 0 ] || option_error "--model_family ${model_family}:" \
  "stage(s) ${not_for_family[*]} do not exist yet for ${model_family}" \
  "(its stages: ${family_stages[${model_family}]}); nothing to run"
[ ${#selected[@]} -gt 0 ] || option_error "--stage ${stage} --stop_stage ${stop_stage}: stage(s) ${not_for_any[*]}" \
  "are not implemented yet in tts_codec; nothing to run"
. ./path.sh
. ./cmd.sh
# The training stages' launcher: one process (or one per GPU) with train_threads torch threads each.
# shellcheck disable=SC2206  # cuda_cmd is a command line: split on blanks
train_launch=(env OMP_NUM_THREADS="${train_threads}" ${cuda_cmd} --gpu "${ngpu}" --num-threads "${train_threads}")
if [ -z "${codec_tag}" ]; then
  if [ -n "${codec_config}" ]; then codec_tag=$(basename "${codec_config}" .yaml); else codec_tag=${model_family}; fi
fi
if [ -z "${lm_tag}" ]; then
  if [ -n "${lm_config}" ]; then lm_tag=$(basename "${lm_config}" .yaml); else lm_tag=${model_family}; fi
fi
# Stages 9, 10 and 12 use the stage-8 LM: selected alone (or only they) without it, that is an error.
if [[ " 9 10 12 " == *" ${selected[*]} "* ]] && [ ! -f "${expdir}/lm_${lm_tag}/model/${lm_file}" ]; then
  option_error "--stage ${stage} --stop_stage ${stop_stage}: stage ${selected[*]} needs the LM of stage 8" \
    "(${expdir}/lm_${lm_tag}/model/${lm_file}; --lm_tag names it)"
fi
for n in "${not_for_family[@]}"; do
  log "stage ${n}: not a ${model_family} stage in this version (its stages: ${family_stages[${model_family}]}); skipped"
done
# The command that started the recipe (run.sh exports it, %q-quoted) minus its --stage, so that every stage can
# print the exact command that resumes from it.
if [ -n "${TTS_RUN_CMD:-}" ]; then eval "orig_cmd=(${TTS_RUN_CMD})"; else orig_cmd=("$0"); fi
resume_cmd=() ; skip_next=false
for arg in "${orig_cmd[@]}"; do
  if ${skip_next}; then skip_next=false; continue; fi
  case "${arg}" in --stage) skip_next=true; continue ;; --stage=*) continue ;; esac
  resume_cmd+=("${arg}")
done
run_cmd=$(printf '%q ' "${resume_cmd[@]}"); run_cmd=${run_cmd% }

in_range() { [[ " ${selected[*]} " == *" $1 "* ]]; }  # in_range N: stage N is selected and the family has it
# stage_begin N NAME MARKER: returns 1 (skip) when N is not selected (in_range) or MARKER says it is done.
stage_begin() {
  local n=$1 name=$2 marker=$3
  in_range "${n}" || return 1
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
# num_jobs DIR N: N, or fewer when DIR has fewer utterances than N.
num_jobs() {
  local utts; utts=$(wc -l < "$1/utt2spk")
  echo $(( $2 < utts ? $2 : utts ))
}

all_sets="${train_set} ${valid_set} ${test_sets}"
codec_exp="${expdir}/codec_${codec_tag}"
lm_exp="${expdir}/lm_${lm_tag}"
if [ -z "${token_list}" ]; then
  if [ -n "${pretrained_llm_dir}" ]; then token_list="data/token_list/${model_family}_pretrained"
  else token_list="data/token_list/${model_family}_bpe${bpe_vocab_size}"; fi
  [ "${g2p}" = none ] || token_list="${token_list}_${g2p}"
fi
# marker_key WORD...: a short checksum of the words and of the files among them, so a stage's .done marker
# changes (and the stage runs again) when its inputs or options change.
marker_key() {
  { printf '%s\n' "$@"; for arg in "$@"; do [ -f "${arg}" ] && cat "${arg}"; done; true; } | cksum | cut -d' ' -f1
}

# score_system OUT_DIR REF_DIR GEN_SCP METRICS [score options...]: nj-way scoring through the job runner, merged
# into OUT_DIR (per_utt.tsv, summary.json, failures.tsv; tts_codec.eval.score_dir).
score_system() {
  local out=$1 ref=$2 gen=$3 metrics=$4; shift 4
  local n; n=$(num_jobs "${ref}" "${inference_nj}")
  local opts=()
  [ -n "${asr_model_dir}" ] && opts+=(--asr_model_dir "${asr_model_dir}")
  opts+=(--asr_beam "${asr_beam}")
  [ -n "${speaker_model_dir}" ] && opts+=(--speaker_model_dir "${speaker_model_dir}")
  rm -rf "${out}.parts"
  ${decode_cmd} JOB=1:"${n}" "${out}.parts/log/score.JOB.log" \
    ${PYTHON} -m tts_codec.bin.score --metrics "${metrics}" --ref_dir "${ref}" --gen_scp "${gen}" \
      --nj "${n}" --nj_part JOB --out_dir "${out}.parts/part.JOB" "${opts[@]}" "$@"
  ${PYTHON} -m tts_codec.bin.merge_scores --out_dir "${out}" --overwrite true \
    $(for i in $(seq "${n}"); do echo "${out}.parts/part.${i}"; done)
}

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
    utils/split_data.sh --per-utt "data/${dset}" "${n}" >/dev/null   # data/<set>/split<n>utt/{1..n}; an up-to-date split is reused
    parts="${dumpdir}/raw/org/${dset}"
    ${train_cmd} JOB=1:"${n}" "${parts}/log/format.JOB.log" \
      ${PYTHON} -m tts_codec.bin.format_audio --in_dir "data/${dset}/split${n}utt/JOB" \
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

need_codec_config() {
  [ -n "${codec_config}" ] || { echo "$0: error: stage $1 needs --codec_config (a codec training config)" >&2; exit 2; }
  [ -f "${codec_config}" ] || { echo "$0: error: --codec_config ${codec_config}: no such file" >&2; exit 2; }
}
need_lm_config() {
  [ -n "${lm_config}" ] || { echo "$0: error: stage $1 needs --lm_config (e.g. conf/lm/spark_tiny.yaml)" >&2; exit 2; }
}
ssl_opts=() ; [ -n "${ssl_model_dir}" ] && ssl_opts=(--ssl_model_dir "${ssl_model_dir}")
xvector_opts=() ; [ -n "${xvector_model_dir}" ] && xvector_opts=(--model_dir "${xvector_model_dir}")

# ---- 3. feature extraction (family_features): spark: the frozen SSL features of the codec config (kaldiio ark,
# one per job); mars6: x-vectors; both: attribute labels ----
if has_feature ssl_feats \
  && stage_begin 3 "SSL feature extraction for codec training" "${dumpdir}/feats/.stage3.${codec_tag}.done"; then
  need_codec_config 3
  for dset in ${train_set} ${valid_set}; do
    n=$(num_jobs "${dumpdir}/raw/${dset}" "${nj}")
    utils/split_data.sh --per-utt "${dumpdir}/raw/${dset}" "${n}" >/dev/null
    rm -rf "${dumpdir}/feats/${dset}"
    ${train_cmd} JOB=1:"${n}" "${dumpdir}/feats/${dset}/log/ssl_feats.JOB.log" \
      ${PYTHON} -m tts_codec.bin.extract_ssl_feats --config "${codec_config}" \
        --data_dir "${dumpdir}/raw/${dset}/split${n}utt/JOB" --out_dir "${dumpdir}/feats/${dset}" --job JOB "${ssl_opts[@]}"
  done
  stage_end 3 "${dumpdir}/feats/.stage3.${codec_tag}.done"
fi
# MARS6's speaker conditioning (mars6_snac.md §4): one embedding per utterance of the training and validation sets,
# by the extractor of the LM config's speaker_embedding section (tts_codec.bin.extract_xvectors), nj parts whose
# scps are merged. A part that is up to date is kept on a rerun.
stage3x_done="${dumpdir}/xvector/.stage3.$(marker_key "${lm_config}" "${xvector_model_dir}" \
  "${dumpdir}/raw/${train_set}/wav.scp" "${dumpdir}/raw/${valid_set}/wav.scp").done"
if has_feature xvectors && stage_begin 3 "x-vectors -> ${dumpdir}/xvector" "${stage3x_done}"; then
  need_lm_config 3
  for dset in ${train_set} ${valid_set}; do
    n=$(num_jobs "${dumpdir}/raw/${dset}" "${nj}")
    utils/split_data.sh --per-utt "${dumpdir}/raw/${dset}" "${n}" >/dev/null
    out="${dumpdir}/xvector/${dset}"
    ${train_cmd} JOB=1:"${n}" "${out}/log/extract.JOB.log" \
      ${PYTHON} -m tts_codec.bin.extract_xvectors --config "${lm_config}" "${xvector_opts[@]}" \
        --data_dir "${dumpdir}/raw/${dset}/split${n}utt/JOB" --output_dir "${out}/part.JOB" --overwrite true
    for i in $(seq "${n}"); do cat "${out}/part.${i}/xvector.scp"; done | sort > "${out}/xvector.scp.tmp"
    mv "${out}/xvector.scp.tmp" "${out}/xvector.scp"
    log "  ${dset}: $(wc -l < "${out}/xvector.scp") x-vectors in ${out}/xvector.scp"
  done
  rm -f "${dumpdir}"/xvector/.stage3.*.done
  stage_end 3 "${stage3x_done}"
fi
# Attribute labels of every set (utt2pitch, utt2speed, their fine values, utt2gender; tts_codec.labels), merged
# into the dump data dirs: the LM is conditioned on them and stage 11 reads them as the intended labels.
# With --keep_corpus_labels true the labels the data dirs already hold (from local/data.sh) are kept where known.
labels_done="${dumpdir}/attributes/.stage3.done"
[ "${keep_corpus_labels}" = true ] && labels_done="${dumpdir}/attributes/.stage3.keep.done"
if has_feature labels && stage_begin 3 "attribute labels (pitch, speed, gender)" "${labels_done}"; then
  for dset in ${all_sets}; do
    n=$(num_jobs "${dumpdir}/raw/${dset}" "${nj}")
    utils/split_data.sh --per-utt "${dumpdir}/raw/${dset}" "${n}" >/dev/null
    parts="${dumpdir}/attributes/${dset}"
    rm -rf "${parts}"
    ${train_cmd} JOB=1:"${n}" "${parts}/log/extract.JOB.log" \
      ${PYTHON} -m tts_codec.bin.extract_attributes --data_dir "${dumpdir}/raw/${dset}/split${n}utt/JOB" \
        --out_dir "${parts}/part.JOB"
    ${PYTHON} -m tts_codec.bin.extract_attributes --data_dir "${dumpdir}/raw/${dset}" --overwrite true \
      --keep_present "${keep_corpus_labels}" --merge $(for i in $(seq "${n}"); do echo "${parts}/part.${i}"; done)
  done
  rm -f "${dumpdir}"/attributes/.stage3.*done
  stage_end 3 "${labels_done}"
fi

# ---- 4. text tokenizer of the LM (tts_codec.bin.train_text_tokenizer): a sentencepiece BPE trained on the
# training text plus the Spark-TTS tokens (mars6: plus the MARS6 specials), or with --pretrained_llm_dir the
# official LLM/ tokenizer unchanged ----
if [ -n "${pretrained_llm_dir}" ]; then tok_opts=(--pretrained_dir "${pretrained_llm_dir}")
else tok_opts=(--text "${dumpdir}/raw/${train_set}" --vocab_size "${bpe_vocab_size}"); fi
[ "${model_family}" = spark ] || tok_opts+=(--model_family "${model_family}")  # the BPE with the family's specials
[ "${g2p}" = none ] || tok_opts+=(--g2p "${g2p}")
stage4_done="${token_list}/.stage4.$(marker_key "${tok_opts[@]}" "${dumpdir}/raw/${train_set}/text").done"
if stage_begin 4 "text tokenizer -> ${token_list}" "${stage4_done}"; then
  ${PYTHON} -m tts_codec.bin.train_text_tokenizer "${tok_opts[@]}" --output_dir "${token_list}" --overwrite true
  rm -f "${token_list}"/.stage4.*.done
  stage_end 4 "${stage4_done}"
fi

# ---- 5. codec training (Lightning: 1 CPU, N GPUs with DDP; multi-node through torchrun/srun, see README) ----
if stage_begin 5 "codec training -> ${codec_exp}" "${codec_exp}/.stage5.done"; then
  need_codec_config 5
  train_opts=() ; [ -n "${codec_max_steps}" ] && train_opts+=(--max_steps "${codec_max_steps}")
  read -r -a codec_extra <<< "${codec_args}"  # split on blanks, never globbed
  [ -d "${dumpdir}/feats/${train_set}" ] && train_opts+=(--feats_dir "${dumpdir}/feats")
  log "  training log: ${codec_exp}/train.log; TensorBoard: tensorboard --logdir ${codec_exp}/tensorboard"
  "${train_launch[@]}" "${codec_exp}/train.log" \
    ${PYTHON} -m tts_codec.bin.train_codec --config "${codec_config}" --train_data "${dumpdir}/raw/${train_set}" \
      --valid_data "${dumpdir}/raw/${valid_set}" --output_dir "${codec_exp}" --ngpu "${ngpu}" \
      --num_nodes "${num_nodes}" --resume true "${train_opts[@]}" "${ssl_opts[@]}" "${codec_extra[@]}"
  stage_end 5 "${codec_exp}/.stage5.done"
fi

# ---- 6. codec tokenization of every set (kaldiio ark/scp per token stream: BiCodec semantic + global, SNAC's 3
# levels) ----
codes_root="${dumpdir}/codes/${codec_tag}"
if stage_begin 6 "codec tokenization -> ${codes_root}" "${codes_root}/.stage6.done"; then
  for dset in ${all_sets}; do
    n=$(num_jobs "${dumpdir}/raw/${dset}" "${inference_nj}")
    utils/split_data.sh --per-utt "${dumpdir}/raw/${dset}" "${n}" >/dev/null
    ${decode_cmd} JOB=1:"${n}" "${codes_root}/${dset}/log/tokenize.JOB.log" \
      ${PYTHON} -m tts_codec.bin.codec_tokenize --model_dir "${codec_exp}/model" \
        --data_dir "${dumpdir}/raw/${dset}/split${n}utt/JOB" --out_dir "${codes_root}/${dset}/part.JOB" --overwrite true
    ${PYTHON} -m tts_codec.bin.merge_scp --out_dir "${codes_root}/${dset}" --overwrite true \
      $(for i in $(seq "${n}"); do echo "${codes_root}/${dset}/part.${i}"; done)
  done
  stage_end 6 "${codes_root}/.stage6.done"
fi

# ---- 7. codec resynthesis of the test sets and codec scoring (PESQ, STOI, mel, SIM, bitrate, codebook use) ----
if stage_begin 7 "codec resynthesis and scoring (${codec_metrics})" "${codec_exp}/.stage7.done"; then
  for dset in ${test_sets}; do
    dec="${codec_exp}/decode_${dset}"
    n=$(ls -d "${codes_root}/${dset}"/part.* | wc -l)
    ${decode_cmd} JOB=1:"${n}" "${dec}/log/decode.JOB.log" \
      ${PYTHON} -m tts_codec.bin.codec_decode --model_dir "${codec_exp}/model" \
        --codes_dir "${codes_root}/${dset}/part.JOB" --out_dir "${dec}/part.JOB" --overwrite true
    mkdir -p "${dec}/wav"
    sort "${dec}"/part.*/wav/wav.scp > "${dec}/wav/wav.scp"
    sort "${dec}"/part.*/rtf > "${dec}/rtf"
    score_system "${dec}/scores" "${dumpdir}/raw/${dset}" "${dec}/wav/wav.scp" "${codec_metrics}" \
      --protocol "codec resynthesis (${dset})" --overwrite true
    ${PYTHON} -m tts_codec.bin.codec_usage --codes_dir "${codes_root}/${dset}" --score_dir "${dec}/scores"
    ${PYTHON} -m tts_codec.bin.make_report --score_dir "${dec}/scores" --name "codec_${codec_tag}" \
      --ref_dir "${dumpdir}/raw/${dset}" --gen_scp "${dec}/wav/wav.scp" --out_dir "${dec}" \
      --title "${dset}: ${codec_tag} resynthesis" --overwrite true \
      ${codec_reference_runs:+--reference_runs "${codec_reference_runs}"}
    log "  ${dset}: ${dec}/RESULTS.md and ${dec}/html/index.html"
  done
  stage_end 7 "${codec_exp}/.stage7.done"
fi
# ---- 8. LM training on the stage-6 codec tokens, the stage-3 labels and the stage-4 tokenizer (Lightning like
# stage 5: 1 CPU, N GPUs with DDP, N nodes; an interrupted run resumes from checkpoints/last.ckpt) ----
lm_data_opts=() ; stage8_inputs=("${lm_config}" "${lm_args}" "${stage4_done}" "${codes_root}/.stage6.done")
if has_feature xvectors; then lm_data_opts=(--xvector_dir "${dumpdir}/xvector"); stage8_inputs+=("${stage3x_done}"); fi
stage8_key=$(marker_key "${stage8_inputs[@]}")
stage8_done="${lm_exp}/.stage8.${stage8_key}.done"
if stage_begin 8 "LM training -> ${lm_exp}" "${stage8_done}"; then
  need_lm_config 8
  [ -f "${token_list}/tokenizer_info.json" ] \
    || { echo "$0: error: stage 8 needs the tokenizer of stage 4 in ${token_list} (--token_list)" >&2; exit 2; }
  read -r -a lm_extra <<< "${lm_args}"  # split on blanks, never globbed
  log "  training log: ${lm_exp}/train.log; TensorBoard: tensorboard --logdir ${lm_exp}/tensorboard"
  "${train_launch[@]}" "${lm_exp}/train.log" \
    ${PYTHON} -m tts_codec.bin.train_lm --config "${lm_config}" --train_data "${dumpdir}/raw/${train_set}" \
      --valid_data "${dumpdir}/raw/${valid_set}" --codes_dir "${codes_root}" --tokenizer_dir "${token_list}" \
      --output_dir "${lm_exp}" --ngpu "${ngpu}" --num_nodes "${num_nodes}" --resume true "${lm_data_opts[@]}" \
      "${lm_extra[@]}"
  rm -f "${lm_exp}"/.stage8.*.done
  stage_end 8 "${stage8_done}"
fi
# ---- 9. preference fine-tuning (mars6; tts_codec.bin.mars6_preference): --pref_per_spk utterances per speaker of
# --pref_set are cloned from another utterance of their speaker, --num_candidates samples each are scored (WER,
# SIM), best and worst become a chosen/rejected pair, and ORPO fine-tunes the stage-8 model into ${lm_exp}_pref.
# Resumable (pairs.pt, checkpoints/last.ckpt); changed inputs (another stage-8 model, options) start it afresh. ----
pref_exp="${lm_exp}_pref"
stage9_done="${pref_exp}/.stage9.$(marker_key "${pref_config}" "${pref_args}" "${pref_set:-${train_set}}" \
  "${pref_per_spk}" "${xvector_model_dir}" "${asr_model_dir}" "${stage8_done}").done"
# fresh_run DIR STAGE: true when DIR holds a finished run of STAGE with other inputs (or --force true): redo, not resume
fresh_run() {
  if [ "${force}" = true ] || ls "$1"/.stage"$2".*.done >/dev/null 2>&1; then echo true; else echo false; fi
}
if in_range 9 && [ ! -f "${lm_exp}/model/${lm_file}" ]; then
  log "stage 9 (preference fine-tuning): no LM in ${lm_exp}/model (stage 8); skipped"
elif stage_begin 9 "preference fine-tuning (ORPO) -> ${pref_exp}" "${stage9_done}"; then
  src="${dumpdir}/raw/${pref_set:-${train_set}}"
  prompts="${dumpdir}/eval/$(basename "${src}")_pref"
  ${PYTHON} -m tts_codec.bin.subset_data_dir --per-spk "${pref_per_spk}" "${src}" "${prompts}/data" --overwrite true
  ${PYTHON} -m tts_codec.bin.make_eval_list clone --data_dir "${prompts}/data" --out_dir "${prompts}/list" \
    --overwrite true
  fresh=$(fresh_run "${pref_exp}" 9)
  ${fresh} && rm -f "${pref_exp}/pairs.pt"
  pref_opts=() ; [ -n "${pref_config}" ] && pref_opts+=(--config "${pref_config}")
  [ -n "${asr_model_dir}" ] && pref_opts+=(--asr_model_dir "${asr_model_dir}")
  [ -n "${xvector_model_dir}" ] && pref_opts+=(--speaker_model_dir "${xvector_model_dir}")
  [ "${ngpu}" -gt 0 ] && pref_opts+=(--device cuda)  # candidate sampling; ORPO trains on --ngpu GPUs
  read -r -a pref_extra <<< "${pref_args}"  # split on blanks, never globbed
  log "  $(wc -l < "${prompts}/list/meta.lst") prompts (${prompts}/list/meta.lst); log: ${pref_exp}/train.log"
  "${train_launch[@]}" "${pref_exp}/train.log" \
    ${PYTHON} -m tts_codec.bin.mars6_preference --lm_dir "${lm_exp}/model" --codec_dir "${codec_exp}/model" \
      --meta_lst "${prompts}/list/meta.lst" --out_dir "${pref_exp}" --ngpu "${ngpu}" --overwrite "${fresh}" \
      "${pref_opts[@]}" "${pref_extra[@]}"
  rm -f "${pref_exp}"/.stage9.*.done
  stage_end 9 "${stage9_done}"
fi
# ---- 10. TTS decoding of the test sets with the stage-5 codec and each LM (stage 8; mars6 also stage 9), nj parts,
# resumable. spark (tts_codec.bin.tts_decode): zero-shot clone of the clone list (prompt A: each prompt utterance's
# 32 global tokens) into decode_<set>, and voice creation from each utterance's stage-3 gender/pitch/speed labels
# into decode_<set>_create. mars6 (tts_codec.bin.mars6_decode): the clone list, --deep_clone_mode none (shallow:
# the prompt's x-vector) by default, into <lm exp>/decode_<set>, the stage-8 and the stage-9 model with the same
# seed. Without an LM (stage 8 not run yet) a wider range skips it with a message (alone it is an error, see above).
# A stage-10 run with other inputs (a retrained LM, other options) decodes afresh. ----
stage10_done="${lm_exp}/.stage10.$(marker_key "${stage8_done}" "${tts_decode_args}" "${deep_clone_mode}" \
  "$( [ -f "${pref_exp}/model/${lm_file}" ] && echo "${stage9_done}" || true)").done"
# decode_spark DSET LIST N: both Spark tasks of one test set
decode_spark() {
  local dset=$1 list=$2 n=$3 task dec input
  for task in clone create; do
    dec="${lm_exp}/decode_${dset}" input=(--meta_lst "${list}/meta.lst")
    [ "${task}" = clone ] || { dec="${dec}_${task}"; input=(--data_dir "${dumpdir}/raw/${dset}"); }
    rm -f "${dec}"/parts/done.* "${dec}/failed"  # a rerun (resume) merges only the parts it finishes
    if ! ${decode_cmd} JOB=1:"${n}" "${dec}/log/decode.JOB.log" \
      ${PYTHON} -m tts_codec.bin.tts_decode --task "${task}" "${input[@]}" --codec_dir "${codec_exp}/model" \
        --lm_dir "${lm_exp}/model" --out_dir "${dec}" --nj "${n}" --nj_part JOB --overwrite "${fresh}" \
        "${decode_extra[@]}"; then
      # An LM that spoke no utterance at all is a result (stage 11 scores it as all missing), not a crash.
      [ -f "${dec}/failed" ] && [ ! -s "${dec}/wav/wav.scp" ] || exit 1
      log "  ${dset} ${task}: WARNING: every utterance was refused (see ${dec}/failed)"
    fi
    log "  ${dset} ${task}: $(wc -l < "${dec}/wav/wav.scp") wavs in ${dec}/wav, $(wc -l < "${dec}/failed")" \
        "refused (${dec}/failed)"
  done
}
# decode_mars6 DSET LIST N: the clone list in N parts (round robin) with every MARS6 model there is, merged
decode_mars6() {
  local dset=$1 list=$2 n=$3 lm dec i lines spk_opts=()
  [ -n "${xvector_model_dir}" ] && spk_opts=(--speaker_model_dir "${xvector_model_dir}")
  lines=$(wc -l < "${list}/meta.lst")  # targets without a same-speaker prompt are not listed
  n=$(( n < lines ? n : lines ))
  for lm in "${lm_exp}" "${pref_exp}"; do
    [ -f "${lm}/model/${lm_file}" ] || continue
    dec="${lm}/decode_${dset}"
    mkdir -p "${dec}/parts" "${dec}/wav"
    rm -f "${dec}"/parts/meta.*.lst
    awk -v n="${n}" -v d="${dec}/parts" '{ print > (d "/meta." ((NR - 1) % n + 1) ".lst") }' "${list}/meta.lst"
    ${decode_cmd} JOB=1:"${n}" "${dec}/log/decode.JOB.log" \
      ${PYTHON} -m tts_codec.bin.mars6_decode --codec_dir "${codec_exp}/model" --lm_dir "${lm}/model" \
        --meta_lst "${dec}/parts/meta.JOB.lst" --out_dir "${dec}/parts/part.JOB" --overwrite "${fresh}" \
        --deep_clone_mode "${deep_clone_mode}" "${spk_opts[@]}" "${decode_extra[@]}"
    for i in $(seq "${n}"); do cat "${dec}/parts/part.${i}/wav/wav.scp"; done | sort > "${dec}/wav/wav.scp"
    for i in $(seq "${n}"); do cat "${dec}/parts/part.${i}/timing"; done | sort > "${dec}/timing"
    log "  ${dset}: $(wc -l < "${dec}/wav/wav.scp") wavs in ${dec}/wav ($(basename "${lm}"))"
  done
}
if in_range 10 && [ ! -f "${lm_exp}/model/${lm_file}" ]; then
  log "stage 10 (TTS decoding): no LM in ${lm_exp}/model (stage 8); skipped"
elif stage_begin 10 "TTS decoding -> ${lm_exp}*/decode_*" "${stage10_done}"; then
  read -r -a decode_extra <<< "${tts_decode_args}"  # split on blanks, never globbed
  fresh=$(fresh_run "${lm_exp}" 10)
  for dset in ${test_sets}; do
    list="${dumpdir}/eval/${dset}_clone"
    [ -f "${list}/meta.lst" ] || ${PYTHON} -m tts_codec.bin.make_eval_list clone --data_dir "${dumpdir}/raw/${dset}" \
      --out_dir "${list}"
    "decode_${model_family}" "${dset}" "${list}" "$(num_jobs "${dumpdir}/raw/${dset}" "${inference_nj}")"
  done
  rm -f "${lm_exp}"/.stage10.*.done
  stage_end 10 "${stage10_done}"
fi
# ---- 11. TTS scoring and reports: every system that has output for a test set, side by side ----
# Systems: the ground truth (the ceiling of each proxy metric), the codec resynthesis (stage 7) and the TTS
# output (stage 10) when they exist. Zero-shot clone protocol: each target's prompt is another utterance of the
# same speaker with different text (make_eval_list clone); SIM-o compares the output with that prompt.
# The marker names what was scored (metrics and every system's wav.scp), so new outputs are scored on a rerun.
stage11_done="${eval_root}/.stage11.$( { echo "${tts_metrics}"; for dset in ${test_sets}; do
  cat "${codec_exp}/decode_${dset}/wav/wav.scp" "${lm_exp}/decode_${dset}/wav/wav.scp" \
    "${lm_exp}/decode_${dset}_create/wav/wav.scp" "${pref_exp}/decode_${dset}/wav/wav.scp" 2>/dev/null || true
  done; } | cksum | cut -d' ' -f1).done"
if stage_begin 11 "scoring and reports (${tts_metrics})" "${stage11_done}"; then
  for dset in ${test_sets}; do
    ref="${dumpdir}/raw/${dset}"
    list="${dumpdir}/eval/${dset}_clone"
    [ -f "${list}/meta.lst" ] || ${PYTHON} -m tts_codec.bin.make_eval_list clone --data_dir "${ref}" --out_dir "${list}"
    # Speaker-verification EER over the list's trials (enrolment: the prompt; test: each system's output)
    n_spk=$(wc -l < "${ref}/spk2utt")
    eer_opts=()
    if [ "${n_spk}" -ge 2 ]; then
      eer_opts=(--trials "${list}/trials" --enroll_scp "${list}/enroll.scp")
    else
      log "  ${dset}: no EER: ${n_spk} speaker; speaker verification needs at least 2 (non-target trials)"
    fi
    score_args=() ; names=()
    for system in "ground_truth:${ref}/wav.scp" \
                  "codec_${codec_tag}:${codec_exp}/decode_${dset}/wav/wav.scp" \
                  "lm_${lm_tag}:${lm_exp}/decode_${dset}/wav/wav.scp" \
                  "lm_${lm_tag}_create:${lm_exp}/decode_${dset}_create/wav/wav.scp" \
                  "lm_${lm_tag}_pref:${pref_exp}/decode_${dset}/wav/wav.scp"; do
      name=${system%%:*} gen=${system#*:}
      [ -s "${gen}" ] || { log "  ${dset}: no output of ${name} (${gen} missing or empty); not scored"; continue; }
      out="${eval_root}/${dset}/${name}"
      if [[ "${name}" == *_create ]]; then  # voice creation has no prompt: no SIM-o/EER; the labels are the target
        score_system "${out}" "${ref}" "${gen}" "$(echo ",${tts_metrics}," | sed 's/,sim_o,/,/; s/^,//; s/,$//')" \
          --protocol "voice creation (${dset})" --overwrite true
      else
        score_system "${out}" "${ref}" "${gen}" "${tts_metrics}" --meta_lst "${list}/meta.lst" "${eer_opts[@]}" \
          --protocol "zero-shot clone (${dset})" --overwrite true
      fi
      score_args+=(--score_dir "${out}" --gen_scp "${gen}") ; names+=(--name "${name}")
    done
    ${PYTHON} -m tts_codec.bin.make_report "${score_args[@]}" "${names[@]}" --ref_dir "${ref}" \
      --out_dir "${eval_root}/${dset}" --title "${dset}: zero-shot clone" --overwrite true
    log "  ${dset}: ${eval_root}/${dset}/RESULTS.md and ${eval_root}/${dset}/html/index.html"
  done
  stage_end 11 "${stage11_done}"
fi
# ---- 12. packing: the stage-5 codec and the stage-8 LM (with its tokenizer) into one self-contained, versioned
# model dir (tts_codec.bin.pack_model) whose model card holds this recipe's command, the commit, the training data
# and the stage-11 results; the synthesis CLI, the web demo and load_model_dir open it by path. A rerun repacks
# when the models or the results changed. Without an LM (stage 8 not run yet) a wider range skips it. ----
packed_dir="${expdir}/packed/${lm_tag}"
pack_lm="${lm_exp}" ; pack_inputs=("${codec_exp}/.stage5.done" "${stage8_done}")
if [ -f "${pref_exp}/model/${lm_file}" ]; then pack_lm="${pref_exp}"; pack_inputs+=("${stage9_done}"); fi
scores=() ; for dset in ${test_sets}; do
  [ -f "${eval_root}/${dset}/RESULTS.md" ] && scores+=("${eval_root}/${dset}/RESULTS.md"); done
stage12_done="${expdir}/packed/.stage12.${lm_tag}.$(marker_key "${pack_inputs[@]}" "${scores[@]}").done"
if in_range 12 && [ ! -f "${lm_exp}/model/${lm_file}" ]; then
  log "stage 12 (packing): no LM in ${lm_exp}/model (stage 8); skipped"
elif stage_begin 12 "packing -> ${packed_dir}" "${stage12_done}"; then
  ${PYTHON} -m tts_codec.bin.pack_model --codec_dir "${codec_exp}/model" --lm_dir "${pack_lm}/model" \
    --out_dir "${packed_dir}" --scores "${scores[@]}" --train_command "${run_cmd}" --overwrite true \
    --data "${train_set} ($(wc -l < "${dumpdir}/raw/${train_set}/utt2spk") utterances in ${dumpdir}/raw/${train_set})"
  rm -f "${expdir}"/packed/.stage12."${lm_tag}".*.done
  stage_end 12 "${stage12_done}"
fi
log "finished stages ${stage}-${stop_stage}"
