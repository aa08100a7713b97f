"""Run recipes end to end in a scratch copy of their directory, so tests never write into the source tree."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = ("tts.sh", "path.sh", "db.sh", "cmd.sh", "utils")


def copy_recipe(name: str, dest: Path) -> Path:
    """A scratch copy of egs/<name>/tts1 under dest: run.sh copied, directories and shared scripts linked to the repo."""
    src = REPO / "egs" / name / "tts1"
    recipe = dest / "egs" / name / "tts1"
    recipe.mkdir(parents=True)
    for item in src.iterdir():
        if item.name in ("data", "dump", "exp", "downloads"):
            continue
        if item.is_dir() or item.name in SHARED:
            # Read-only parts (conf/, local/, shared scripts) are linked, so relative `base:` paths still resolve.
            (recipe / item.name).symlink_to(item.resolve())
        else:
            shutil.copy2(item.resolve(), recipe / item.name)
    return recipe


def recipe_env() -> dict[str, str]:
    """The environment of a recipe run: this interpreter's venv first on PATH, offline hubs."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHON"] = sys.executable
    env["HF_HUB_OFFLINE"] = "1"
    env.pop("TTS_RUN_CMD", None)
    return env


def run_recipe(recipe: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run ./run.sh ARGS in `recipe`, capturing output (shown by pytest when an assertion fails)."""
    proc = subprocess.run(["./run.sh", *args], cwd=recipe, env=recipe_env(), capture_output=True, text=True,
                          timeout=timeout)
    print(proc.stdout[-5000:], proc.stderr[-8000:], sep="\n")
    return proc
