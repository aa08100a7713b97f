#!/usr/bin/env bash
# Kaldi/ESPnet-style option parsing, sourced by run.sh after its defaults:  . utils/parse_options.sh
#
# Every `--name value` (or `--name=value`) sets the shell variable `name`, which must already exist (a default
# in the calling script): `--stop-stage 3` and `--stop_stage 3` both set stop_stage. An unknown option is an
# error naming it. `--config FILE` reads `name=value` lines (comments with #) before the command-line options
# that follow it, so the command line wins. `--help` / `-h` prints $help_message and exits 0.
# Options stop at the first argument that does not start with `--`; the rest stay in "$@".

__po_die() { echo "$0: error: $*" >&2; exit 2; }

__po_set() {  # __po_set NAME VALUE ORIGIN  (locals are prefixed so that no option name can shadow them)
  local __po_name=${1//-/_} __po_value=$2 __po_origin=$3 __po_old
  [[ "$__po_name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || __po_die "invalid option name '$1' ($__po_origin)"
  if [ -z "${!__po_name+set}" ]; then
    __po_die "unknown option '--$1' ($__po_origin); see $0 --help"
  fi
  # Booleans must be spelled true/false so that typos do not silently become "false".
  __po_old=${!__po_name}
  if [[ "$__po_old" == true || "$__po_old" == false ]] && [[ "$__po_value" != true && "$__po_value" != false ]]; then
    __po_die "option '--$1' takes true or false, not '$__po_value' ($__po_origin)"
  fi
  printf -v "$__po_name" '%s' "$__po_value"
}

__po_read_config() {  # __po_read_config FILE
  local __po_file=$1 __po_lineno=0 __po_line __po_key
  [ -f "$__po_file" ] || __po_die "--config: file not found: $__po_file"
  while IFS= read -r __po_line || [ -n "$__po_line" ]; do
    __po_lineno=$((__po_lineno + 1))
    __po_line=${__po_line%%#*}
    __po_line=$(echo "$__po_line" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
    [ -z "$__po_line" ] && continue
    [[ "$__po_line" == *=* ]] || __po_die "$__po_file:$__po_lineno: expected name=value, got '$__po_line'"
    __po_key=${__po_line%%=*}; __po_key=${__po_key#--}
    __po_set "$__po_key" "${__po_line#*=}" "$__po_file:$__po_lineno"
  done < "$__po_file"
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
