"""Fixtures: a scratch copy of a recipe directory."""
from __future__ import annotations

from pathlib import Path

import pytest

from tts_codec.testing.recipes import copy_recipe


@pytest.fixture
def mini_recipe(tmp_path: Path) -> Path:
    return copy_recipe("mini", tmp_path)
