"""`conf/slurm.conf` in Kaldi's slurm.pl format: how `--mem/--gpu/--num-threads/--time` become sbatch options.

    command sbatch --export=ALL          # the submit command and its fixed options
    option mem=* --mem=$0                # any value: `$0` is replaced by it
    option mem=0                         # this exact value: these options (here none)
    default gpu=0                        # the value used when the option is not given

An exact `option name=value` line wins over `option name=*`. Unlike Kaldi, the order of lines does not matter.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from tts_codec.errors import UserError

DEFAULT_CONFIG_PATH = Path("conf/slurm.conf")

# Used when conf/slurm.conf does not exist; conf/slurm.conf in the repository holds the same rules.
DEFAULT_SLURM_CONF = """\
command sbatch --export=ALL --ntasks-per-node=1
option mem=* --mem=$0
option mem=0
default num_threads=1
option num_threads=* --cpus-per-task=$0
default gpu=0
option gpu=0
option gpu=* --gres=gpu:$0
option time=* --time=$0
"""


@dataclass
class OptionRule:
    """How one option maps to scheduler arguments: per exact value, or through a `$0` template."""

    exact: dict[str, list[str]] = field(default_factory=dict)
    template: str | None = None

    def args_for(self, value: str) -> list[str] | None:
        if value in self.exact:
            return self.exact[value]
        if self.template is not None:
            return shlex.split(self.template.replace("$0", value))
        return None


@dataclass
class SlurmConf:
    """A parsed slurm.conf; `source` names it in error messages."""

    command: list[str]
    rules: dict[str, OptionRule]
    defaults: dict[str, str]
    source: str

    @property
    def option_names(self) -> list[str]:
        return list(self.rules)

    def submit_args(self, options: Mapping[str, str]) -> list[str]:
        """The scheduler options for the given CLI options (underscore names), defaults filled in.

        Raises UserError naming the option and this config when a value has no rule.
        """
        values = {**self.defaults, **options}
        args: list[str] = []
        for name, value in values.items():
            rule = self.rules.get(name)
            mapped = rule.args_for(value) if rule else None
            if mapped is None:
                flag = "--" + name.replace("_", "-")
                raise UserError(f"option {flag} {value} is not described in {self.source} "
                                f"(add a line like `option {name}=* <sbatch options using $0>`)")
            args.extend(mapped)
        return args


def parse_slurm_conf(text: str, source: str) -> SlurmConf:
    """Parse slurm.conf text; errors name `source:line`."""
    command: list[str] | None = None
    rules: dict[str, OptionRule] = {}
    defaults: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{lineno}"
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        if keyword == "command" and rest:
            command = shlex.split(rest)
        elif keyword == "option" and "=" in rest:
            name, _, value_args = rest.partition("=")
            value, _, args = value_args.partition(" ")
            _check_name(name, where)
            rule = rules.setdefault(name, OptionRule())
            if value == "*":
                if "$0" not in args:
                    raise UserError(f"{where}: `option {name}=*` needs `$0` in its arguments: {raw.strip()!r}")
                rule.template = args.strip()
            elif value:
                rule.exact[value] = shlex.split(args)
            else:
                raise UserError(f"{where}: `option {name}=` needs a value or `*`: {raw.strip()!r}")
        elif keyword == "default" and "=" in rest and " " not in rest:
            name, _, value = rest.partition("=")
            _check_name(name, where)
            defaults[name] = value
        else:
            raise UserError(f"{where}: cannot parse {raw.strip()!r} "
                            f"(expected `command ...`, `option NAME=VALUE|* ...` or `default NAME=VALUE`)")
    if command is None:
        raise UserError(f"{source}: no `command` line (e.g. `command sbatch --export=ALL`)")
    for name in defaults:
        if name not in rules:
            raise UserError(f"{source}: `default {name}=...` but no `option {name}=` line")
    return SlurmConf(command, rules, defaults, source)


def _check_name(name: str, where: str) -> None:
    if not name.replace("_", "").isalnum():
        raise UserError(f"{where}: bad option name {name!r} (use letters, digits and _)")


def load_slurm_conf(path: str | Path | None = None) -> SlurmConf:
    """Read `path` (or conf/slurm.conf under the current directory); built-in defaults if that is absent.

    An explicitly given path must exist.
    """
    if path is None:
        if not DEFAULT_CONFIG_PATH.is_file():
            return parse_slurm_conf(DEFAULT_SLURM_CONF, "the built-in default slurm config")
        path = DEFAULT_CONFIG_PATH
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"cannot read the slurm config {path}: {err.strerror}") from err
    return parse_slurm_conf(text, str(path))
