"""Package layering: `data` and `nn` know no model, trainer or evaluation (imports parsed with ast, lazy ones too)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tts_codec"
LOW_LEVEL = ("data", "nn")
FORBIDDEN = ("codecs", "train", "lm", "eval")


def imported_modules(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import statement in `path`, wherever it sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names = [f"{base}.{alias.name}" for alias in node.names] if not node.module else [base]
            found.extend((node.lineno, name) for name in names)
    return sorted(found)


def violations(layer: str, root: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted((root / layer).rglob("*.py")):
        for line, module in imported_modules(path, root):
            parts = module.split(".")
            if parts[0] == "tts_codec" and len(parts) > 1 and parts[1] in FORBIDDEN:
                bad.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("layer", LOW_LEVEL)
def test_low_level_packages_import_no_model_trainer_or_evaluation(layer):
    assert violations(layer) == []


def test_the_check_sees_lazy_and_relative_imports(tmp_path):
    fake = tmp_path / "tts_codec" / "data"
    fake.mkdir(parents=True)
    (fake / "x.py").write_text("def f():\n    from tts_codec.codecs import build_codec\n"
                               "from ..train import trainer\nimport tts_codec.eval.wer\nfrom . import ark\n")
    assert [v.split(" imports ")[1] for v in violations("data", tmp_path / "tts_codec")] == [
        "tts_codec.codecs", "tts_codec.train", "tts_codec.eval.wer"]
