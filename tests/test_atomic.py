"""replace_dir: an output directory is replaced only by a complete new one, never by destroying an input."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from tts_codec.atomic import refuse_input_as_output, replace_dir
from tts_codec.errors import UserError


def _tree(path):
    return {str(p.relative_to(path)): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


def test_new_output_appears_only_on_success(tmp_path):
    out = tmp_path / "out"
    with replace_dir(out) as new:
        (new / "a").write_text("1")
        assert not out.exists()
        assert new.parent == tmp_path
    assert _tree(out) == {"a": "1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failure_keeps_old_output_and_leaves_no_temp(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a").write_text("old")
    with pytest.raises(RuntimeError):
        with replace_dir(out, overwrite=True) as new:
            (new / "a").write_text("half")
            raise RuntimeError("validation failed")
    assert _tree(out) == {"a": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_replace_drops_stale_entries(tmp_path):
    out = tmp_path / "out"
    (out / "split2" / "1").mkdir(parents=True)
    (out / "a").write_text("old")
    with replace_dir(out, overwrite=True) as new:
        (new / "a").write_text("new")
    assert _tree(out) == {"a": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a").write_text("old")
    with pytest.raises(UserError, match="already exists"):
        with replace_dir(out):
            pytest.fail("body must not run")
    assert _tree(out) == {"a": "old"}


@pytest.mark.parametrize("layout", ["same", "output_inside_input", "input_inside_output", "via_symlink"])
def test_output_overlapping_an_input_is_refused(tmp_path, layout):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("data")
    (tmp_path / "link").symlink_to(src)
    output, inputs = {
        "same": (src, [src]),
        "output_inside_input": (src / "sub", [src]),
        "input_inside_output": (src, [src / "sub"]),
        "via_symlink": (tmp_path / "link", [src]),
    }[layout]
    with pytest.raises(UserError, match="input"):
        with replace_dir(output, inputs=inputs, overwrite=True):
            pytest.fail("body must not run")
    assert _tree(src) == {"sub/f": "data"}


def test_distinct_siblings_are_accepted(tmp_path):
    refuse_input_as_output(tmp_path / "ab", [tmp_path / "a", tmp_path / "abc"])


def test_read_only_parent_is_one_clear_error(tmp_path):
    """Run in a subprocess; as root, without the capabilities that let root ignore file modes."""
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    code = ("from tts_codec.atomic import replace_dir\n"
            "from tts_codec.errors import UserError\n"
            "try:\n"
            f"    with replace_dir({str(parent / 'out')!r}):\n"
            "        pass\n"
            "except UserError as err:\n"
            "    print(err)\n")
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root and setpriv (util-linux) is not installed: a read-only mode would not bind")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                   "--inh-caps=-dac_override,-dac_read_search", "--", *command]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
    finally:
        parent.chmod(0o755)
    assert proc.stdout.strip() == f"output {parent / 'out'}: cannot write in {parent}: Permission denied", proc.stderr
    assert list(parent.iterdir()) == []


def test_run_killed_between_renames_is_repaired(tmp_path):
    """The old output moved aside by a dead process comes back; a dead run's half-built dir is removed."""
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid, host = int(dead.stdout), socket.gethostname()
    old = tmp_path / f".out.old.{host}.{pid}.x1"
    old.mkdir()
    (old / "a").write_text("previous")
    half = tmp_path / f".out.new.{host}.{pid}.x2"
    half.mkdir()
    (half / "a").write_text("half")
    with pytest.raises(UserError, match="already exists"):
        with replace_dir(out):
            pass
    assert _tree(out) == {"a": "previous"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_live_runs_temp_dirs_are_left_alone(tmp_path):
    busy = tmp_path / f".out.new.{socket.gethostname()}.{os.getpid()}.x"
    busy.mkdir()
    with replace_dir(tmp_path / "out") as new:
        (new / "a").write_text("1")
    assert busy.is_dir()


def test_a_successful_write_removes_temps_of_killed_writers(tmp_path):
    """Leftovers of dead processes on this host go; a live writer's temp file and other files stay."""
    from tts_codec.atomic import atomic_path, atomic_write

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host, pid = socket.gethostname(), int(dead.stdout)
    left = [tmp_path / f".feats.ark.{host}.{pid}.abc.tmp", tmp_path / f".a.{host}.{pid}.xyz.wav"]
    live = [tmp_path / f".feats.ark.{host}.{os.getpid()}.def.tmp", tmp_path / f".feats.ark.otherhost.{pid}.q.tmp"]
    for path in left + live:
        path.write_bytes(b"partial")
    with atomic_write(tmp_path / "feats.ark", "wb") as handle:
        handle.write(b"ark")
    with atomic_path(tmp_path / "a.wav") as tmp:
        tmp.write_bytes(b"wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["feats.ark", "a.wav", *(p.name for p in live)])
