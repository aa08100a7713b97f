#!/usr/bin/env bash
# Kaldi/ESPnet-style option parsing, sourced by run.sh after its defaults:  . utils/parse_options.sh
#
# Every `--name value` (or `--name=value`) sets the shell variable `name`, which must already exist (a default
# in the calling script): `--stop-stage 3` and `--stop_stage 3` both set stop_stage. An unknown option is an
# error naming it. `--config FILE` reads `name=value` lines (comments with #) before the command-line options
# that follow it, so the command line wins. `--help` / `-h` prints $help_message and exits 0.
# Options stop at the first argument that does not start with `--`; the rest stay in "$@".

__po_die() { echo "$0: error: $*" >&2; exit 2; }

__po_set() {  # __po_set NAME VALUE ORIGIN
  local name=${1//-/_} value=$2 origin=$3
  [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || __po_die "invalid option name '$1' ($origin)"
  if [ -z "${!name+set}" ]; then
    __po_die "unknown option '--$1' ($origin); see $0 --help"
  fi
  # Booleans must be spelled true/false so that typos do not silently become "false".
  local old=${!name}
  if [[ "$old" == true || "$old" == false ]] && [[ "$value" != true && "$value" != false ]]; then
    __po_die "option '--$1' takes true or false, not '$value' ($origin)"
  fi
  printf -v "$name" '%s' "$value"
}

__po_read_config() {  # __po_read_config FILE
  local file=$1 lineno=0 line key
  [ -f "$file" ] || __po_die "--config: file not found: $file"
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    line=${line%%#*}
    line=$(echo "$line" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
    [ -z "$line" ] && continue
    [[ "$line" == *=* ]] || __po_die "$file:$lineno: expected name=value, got '$line'"
    key=${line%%=*}; key=${key#--}
    __po_set "$key" "${line#*=}" "$file:$lineno"
  done < "$file"
}

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message"; else echo "usage: $0 [--option value ...]"; fi
      exit 0 ;;
    --config=*) __po_read_config "${1#--config=}"; shift ;;
    --config) [ $# -ge 2 ] || __po_die "--config needs a file"; __po_read_config "$2"; shift 2 ;;
    --*=*) __po_opt=${1#--}; __po_set "${__po_opt%%=*}" "${__po_opt#*=}" "command line"; shift ;;
    --*) [ $# -ge 2 ] || __po_die "option '$1' needs a value"
         __po_set "${1#--}" "$2" "command line"; shift 2 ;;
    *) break ;;
  esac
done
unset __po_opt
true
