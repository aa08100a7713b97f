#!/usr/bin/env bash
# Kaldi/ESPnet-style option parsing, sourced by run.sh after its defaults:  . utils/parse_options.sh
#
# Every `--name value` (or `--name=value`) sets the shell variable `name`, which must already exist (a default
# in the calling script): `--stop-stage 3` and `--stop_stage 3` both set stop_stage. An unknown option is an
# error naming it. `--config FILE` is read first, whatever its place on the command line, so every command-line
# option wins (as in Kaldi); its `name=value` lines are shell assignments (quotes are shell quotes, `# comments`
# allowed), each checked: a bad line or an unknown name is an error naming FILE:LINE. `--help` / `-h` prints
# $help_message and exits 0. Options stop at the first argument that does not start with `--`; the rest stay in
# "$@". As in Kaldi, an empty `cmd` (e.g. `--cmd ""`) is an error. Differences from Kaldi: utils/README.md.

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

__po_read_config() {  # __po_read_config FILE: each line a shell assignment `name=value` to a known option
  local __po_file=$1 __po_lineno=0 __po_line __po_key __po_rest __po_value
  [ -f "$__po_file" ] || __po_die "--config: file not found: $__po_file"
  while IFS= read -r __po_line || [ -n "$__po_line" ]; do
    __po_lineno=$((__po_lineno + 1))
    __po_line=${__po_line#"${__po_line%%[![:space:]]*}"}
    [[ -z "$__po_line" || "$__po_line" == \#* ]] && continue
    [[ "$__po_line" =~ ^(--)?([A-Za-z_][A-Za-z0-9_-]*)=(.*)$ ]] ||
      __po_die "$__po_file:$__po_lineno: expected name=value, got '$__po_line'"
    __po_key=${BASH_REMATCH[2]} __po_rest=${BASH_REMATCH[3]}
    # the value as the shell reads it (quotes, escapes, trailing comment), and only one word, as an assignment
    ( set -f; eval "set -- ${__po_rest}" && [ $# -le 1 ] ) 2>/dev/null ||
      __po_die "$__po_file:$__po_lineno: the value of $__po_key is not one shell word (quote it): ${__po_rest}"
    eval "__po_value=${__po_rest}"
    __po_set "$__po_key" "$__po_value" "$__po_file:$__po_lineno"
  done < "$__po_file"
}

# Kaldi reads every --config before the other options, so the command line wins over any config file.
__po_prev=
for __po_arg in "$@"; do
  case "$__po_arg" in
    --config=*) __po_read_config "${__po_arg#--config=}" ;;
    *) [ "$__po_prev" == --config ] && __po_read_config "$__po_arg" ;;
  esac
  [[ "$__po_arg" == --* || ( "$__po_prev" == --* && "$__po_prev" != *=* ) ]] || break  # options end at the first positional
  __po_prev=$__po_arg
done

while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message"; else echo "usage: $0 [--option value ...]"; fi
      exit 0 ;;
    --config=*) shift ;;
    --config) [ $# -ge 2 ] || __po_die "--config needs a file"; shift 2 ;;
    --*=*) __po_opt=${1#--}; __po_set "${__po_opt%%=*}" "${__po_opt#*=}" "command line"; shift ;;
    --*) [ $# -ge 2 ] || __po_die "option '$1' needs a value"
         __po_set "${1#--}" "$2" "command line"; shift 2 ;;
    *) break ;;
  esac
done
unset __po_opt __po_prev __po_arg
if [ -n "${cmd+set}" ] && [ -z "$cmd" ]; then __po_die "empty argument to --cmd option"; fi
true
