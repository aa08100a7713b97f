"""Random access to the members of WebDataset tar shards without extracting them: a byte-offset index per shard.

A gzip stream cannot be sought, so a `.tar.gz` shard is decompressed once into a plain `.tar` in a cache directory
(one file per shard, no member files; flac members barely compress, so the `.tar` is about the shard's size); a
plain `.tar` shard is used in place. The index (`<shard>.tar.idx`: `name offset size` lines, written atomically
after a full pass) makes a member a byte range, which a Kaldi wav.scp names with a pipe:
`tail -c +<offset+1> <tar> | head -c <size> |` (`tail -c +N` seeks in a regular file, so it reads only the member).
"""
from __future__ import annotations

import gzip
import io
import logging
import shlex
import shutil
import tarfile
import zlib
from pathlib import Path
from typing import NamedTuple

from tts_codec.atomic import atomic_write
from tts_codec.errors import UserError

log = logging.getLogger(__name__)


class Member(NamedTuple):
    """Where the bytes of one tar member lie."""

    tar: Path
    offset: int
    size: int

    def pipe_spec(self) -> str:
        """The wav.scp value that streams the member's bytes (a Kaldi `cmd |` spec)."""
        return f"tail -c +{self.offset + 1} {shlex.quote(str(self.tar))} | head -c {self.size} |"

    def read(self) -> bytes:
        with open(self.tar, "rb") as handle:
            handle.seek(self.offset)
            return handle.read(self.size)

    def fileobj(self) -> io.BytesIO:
        return io.BytesIO(self.read())


def webdataset_key(name: str) -> tuple[str, str]:
    """(key, extension) of a member name, as WebDataset splits them: `a/b/KEY.flac` -> (`a/b/KEY`, `flac`)."""
    head, _, base = name.rpartition("/")
    stem, _, ext = base.partition(".")
    return (f"{head}/{stem}" if head else stem), ext.lower()


def plain_tar(shard: Path, cache_dir: Path) -> Path:
    """The shard as an uncompressed tar: itself, or its decompressed copy in `cache_dir` (made once)."""
    if shard.suffix == ".tar":
        return shard
    if not shard.name.endswith((".tar.gz", ".tgz")):
        raise UserError(f"shard {shard}: expected a .tar or .tar.gz file")
    target = cache_dir / (shard.name[: -len(".gz")] if shard.name.endswith(".gz") else shard.stem + ".tar")
    if target.is_file() and target.stat().st_mtime >= shard.stat().st_mtime:
        return target
    try:
        with gzip.open(shard, "rb") as src, atomic_write(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except (OSError, EOFError, zlib.error) as err:
        if isinstance(err, OSError) and not isinstance(err, gzip.BadGzipFile) and err.filename:
            raise
        for stale in (target, target.with_name(target.name + ".idx")):  # made from an older copy of the shard
            stale.unlink(missing_ok=True)
        raise UserError(f"shard {shard} is corrupt or truncated ({err}); download it again") from None
    return target


def build_index(tar_path: Path) -> dict[str, Member]:
    """key -> Member of every regular member (read from `<tar>.idx` when it is newer than the tar)."""
    idx = tar_path.with_name(tar_path.name + ".idx")
    if idx.is_file() and idx.stat().st_mtime >= tar_path.stat().st_mtime:
        entries = [line.rsplit(" ", 2) for line in idx.read_text(encoding="utf-8").splitlines() if line]
    else:
        try:
            with tarfile.open(tar_path, "r:") as tar:
                entries = [(m.name, str(m.offset_data), str(m.size)) for m in tar if m.isfile()]
        except (tarfile.TarError, EOFError) as err:
            raise UserError(f"shard {tar_path} is not a readable tar ({err}); download it again") from None
        with atomic_write(idx) as handle:
            handle.writelines(f"{name} {offset} {size}\n" for name, offset, size in entries)
    tar_path = tar_path.resolve()  # wav.scp names it from anywhere
    return {name: Member(tar_path, int(offset), int(size)) for name, offset, size in entries}


def index_shards(shards: list[Path], cache_dir: Path, audio_exts: tuple[str, ...]) -> dict[str, Member]:
    """WebDataset key (basename without extension) -> Member of its audio, over all shards."""
    members: dict[str, Member] = {}
    for shard in shards:
        for name, member in build_index(plain_tar(shard, cache_dir)).items():
            key, ext = webdataset_key(name)
            if ext in audio_exts:
                key = key.rpartition("/")[2]
                if key in members:
                    raise UserError(f"shard {shard}: member {name} repeats key {key} of {members[key].tar}")
                members[key] = member
    log.info("indexed %d shards: %d audio members", len(shards), len(members))
    return members

