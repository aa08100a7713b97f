"""Resumable corpus downloads: HTTP Range transfers, checksum and archive checks, extraction that resumes.

Rules (issue 15): a file is fetched into `<name>.part` and renamed to `<name>` only when its size and checksum are
right, so an existing `<name>` is complete and never fetched again; an interrupted transfer resumes from the bytes
of `<name>.part` (HTTP Range); a wrong checksum removes the part and is an error; a corrupt archive is moved aside
(`<name>.corrupt`, so that a rerun fetches it again) and is an error; extraction writes each member atomically,
skips members already extracted with the right size and marks the finished archive (`.<name>.extracted`).
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Iterator

from tts_codec.atomic import atomic_write
from tts_codec.errors import UserError

log = logging.getLogger(__name__)

CHUNK = 1 << 20
DIGESTS = ("md5", "sha256")


def parse_checksum(checksum: str | None) -> tuple[str, str] | None:
    """`md5:<hex>` or `sha256:<hex>` -> (algorithm, hex digest); None stays None."""
    if not checksum:
        return None
    algo, _, digest = checksum.partition(":")
    algo = algo.lower()
    if algo not in DIGESTS or not digest or any(c not in "0123456789abcdef" for c in digest.lower()):
        raise UserError(f"checksum {checksum!r}: expected md5:<hex> or sha256:<hex>")
    return algo, digest.lower()


def file_digest(path: Path, algo: str) -> str:
    """Hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.new(algo)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _total_size(response) -> int | None:
    """The full size of the resource from Content-Range (`bytes a-b/total`) or Content-Length."""
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].strip().isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def _transfer(url: str, part: Path, timeout: float) -> int | None:
    """Append the missing bytes of `url` to `part` (Range request); returns the full size if the server told it."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # nothing left to send: the part already holds every byte
            return have
        raise
    with response:
        total = _total_size(response)
        if response.status == 200 and have:  # the server ignored the Range header: start over
            log.info("%s: the server does not resume transfers; fetching it from the start", url)
            have = 0
            total = int(response.headers["Content-Length"]) if response.headers.get("Content-Length") else None
        with open(part, "ab" if have else "wb") as out:
            while block := response.read(CHUNK):
                out.write(block)
    return total


def download(url: str, dest: str | os.PathLike, checksum: str | None = None, retries: int = 5,
             timeout: float = 60.0, retry_wait: float = 2.0) -> Path:
    """Fetch `url` to `dest` unless `dest` exists; resume an interrupted `.part`; verify size and checksum.

    Args:
        checksum: `md5:<hex>` or `sha256:<hex>`; None skips the check (the size is still checked when known).
        retries: attempts after a dropped connection; each attempt resumes where the last one stopped.
    Raises:
        UserError: the checksum does not match (the part is deleted), or the transfer keeps failing.
    """
    dest, expected = Path(dest), parse_checksum(checksum)
    if dest.is_file():
        log.info("%s is complete; not downloaded again", dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    total, error = None, None
    for attempt in range(retries + 1):
        if attempt:
            log.warning("%s: transfer stopped at %d bytes (%s); resuming (attempt %d of %d)", url,
                        part.stat().st_size if part.exists() else 0, error, attempt, retries)
            time.sleep(retry_wait)
        try:
            total = _transfer(url, part, timeout) or total
        except urllib.error.HTTPError as err:
            raise UserError(f"download {url}: HTTP {err.code} {err.reason}") from None
        except (urllib.error.URLError, OSError) as err:  # dropped connection, timeout, refused
            error = getattr(err, "reason", err)
            continue
        have = part.stat().st_size
        if total is None or have == total:
            break
        error = f"got {have} of {total} bytes"
        if have > total:
            part.unlink()
    else:
        raise UserError(f"download {url}: failed after {retries + 1} attempts ({error}); rerun to resume from "
                        f"{part}")
    if expected:
        actual = file_digest(part, expected[0])
        if actual != expected[1]:
            part.unlink()
            raise UserError(f"download {url}: {expected[0]} {actual} does not match the expected {expected[1]}; "
                            "the partial file was deleted, rerun to fetch it again")
    os.replace(part, dest)
    log.info("downloaded %s (%d bytes)", dest, dest.stat().st_size)
    return dest


# ---------------------------------------------------------------- archives
def _safe_name(name: str, archive: Path) -> PurePosixPath:
    """A member name that stays inside the extraction directory."""
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts:
        raise UserError(f"archive {archive}: member {name!r} would be written outside the target directory")
    return rel


def _members(archive: Path) -> Iterator[tuple[PurePosixPath, int, IO[bytes] | None]]:
    """(relative path, size, reader or None for a directory) of every regular member, in archive order."""
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _safe_name(info.filename, archive)
                if info.is_dir():
                    yield rel, 0, None
                else:
                    with zf.open(info) as reader:
                        yield rel, info.file_size, reader
        return
    with tarfile.open(archive, "r|*") as tar:  # stream mode: one pass over a .tar.gz
        for member in tar:
            rel = _safe_name(member.name, archive)
            if member.isdir():
                yield rel, 0, None
            elif member.isfile():
                yield rel, member.size, tar.extractfile(member)
            else:
                log.warning("archive %s: skipped %s (not a regular file)", archive, member.name)


def _corrupt(archive: Path, err: Exception) -> UserError:
    aside = archive.with_name(archive.name + ".corrupt")
    os.replace(archive, aside)
    return UserError(f"archive {archive} is corrupt ({err}); moved to {aside}, rerun to download it again")


def verify_archive(archive: str | os.PathLike) -> int:
    """Read every member of a zip or tar(.gz) archive (CRCs checked); returns the member count.

    Raises:
        UserError: the archive is corrupt or truncated; it is moved to `<name>.corrupt` first.
    """
    archive, count = Path(archive), 0
    try:
        for _, _, reader in _members(archive):
            while reader is not None and reader.read(CHUNK):
                pass
            count += 1
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        raise _corrupt(archive, err) from None
    return count


def extract(archive: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Extract `archive` into `out_dir`, resuming: members present with the right size are skipped.

    The marker `out_dir/.<archive name>.extracted` says the extraction finished; with it nothing is read.
    Raises:
        UserError: the archive is corrupt (moved aside, see `verify_archive`).
    """
    archive, out_dir = Path(archive), Path(out_dir)
    marker = out_dir / f".{archive.name}.extracted"
    if marker.is_file():
        return out_dir
    written = skipped = 0
    try:
        for rel, size, reader in _members(archive):
            target = out_dir / rel
            if reader is None:
                target.mkdir(parents=True, exist_ok=True)
            elif target.is_file() and target.stat().st_size == size:
                skipped += 1
            else:
                with atomic_write(target, "wb") as out:
                    shutil.copyfileobj(reader, out, CHUNK)
                written += 1
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        raise _corrupt(archive, err) from None
    marker.write_text(f"{written + skipped} files\n")
    log.info("extracted %s into %s: %d files written, %d already there", archive, out_dir, written, skipped)
    return out_dir


def fetch_archive(url: str, archive: str | os.PathLike, out_dir: str | os.PathLike,
                  checksum: str | None = None, keep_archive: bool = True, **download_opts) -> Path:
    """download + verify (when no checksum was given) + extract, each step skipped when already done."""
    archive, out_dir = Path(archive), Path(out_dir)
    if (out_dir / f".{archive.name}.extracted").is_file():
        log.info("%s was extracted into %s; nothing to do", archive.name, out_dir)
        return out_dir
    download(url, archive, checksum, **download_opts)
    if not checksum:
        verify_archive(archive)
    extract(archive, out_dir)
    if not keep_archive:
        archive.unlink()
    return out_dir
