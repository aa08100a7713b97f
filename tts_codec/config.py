"""YAML configs with `base:` inheritance: a variant is a short file naming its base and the keys it changes."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tts_codec.atomic import atomic_write
from tts_codec.errors import UserError


def deep_merge(base: dict, override: dict) -> dict:
    """Return `base` updated by `override`, recursing into nested dicts (lists and scalars are replaced)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Load a YAML config, resolving `base:` (a path or list of paths relative to this file) first."""
    path = Path(path).resolve()
    if path in _seen:
        raise UserError(f"config {path}: circular 'base:' chain {' -> '.join(map(str, _seen + (path,)))}")
    if not path.is_file():
        raise UserError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise UserError(f"config {path}: invalid YAML: {err}") from None
    if not isinstance(data, dict):
        raise UserError(f"config {path}: top level must be a mapping, got {type(data).__name__}")
    bases = data.pop("base", None) or []
    bases = [bases] if isinstance(bases, str) else bases
    if not isinstance(bases, list) or not all(isinstance(b, str) and b for b in bases):
        raise UserError(f"config {path}: 'base:' must be a path or a list of paths, got {bases!r}")
    merged: dict[str, Any] = {}
    for base in bases:  # later bases override earlier ones; this file overrides them all
        base_path = path.parent / base
        if not base_path.is_file():
            raise UserError(f"config {path}: base file {base!r} not found (looked for {base_path.resolve()})")
        merged = deep_merge(merged, load_config(base_path, _seen + (path,)))
    return deep_merge(merged, data)


def require(config: dict, key: str, where: str = "config") -> Any:
    """Return `config[key]`, or fail naming the missing key (dotted keys reach into nested mappings)."""
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise UserError(f"{where}: required key '{key}' is missing")
        node = node[part]
    return node


def save_config(config: dict, path: str | Path) -> None:
    """Write the resolved config atomically (saved beside every experiment so it can be rebuilt)."""
    with atomic_write(path) as handle:
        yaml.safe_dump(config, handle, sort_keys=False, allow_unicode=True)
