"""The download code against a local HTTP server on 127.0.0.1: resumed transfers, checksums, corrupt archives and
extraction that resumes (tts_codec.recipes.download)."""
from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from tts_codec.bin import download_corpus
from tts_codec.cli import run_main
from tts_codec.errors import UserError
from tts_codec.recipes.download import download, extract, fetch_archive, parse_checksum, verify_archive


class Server:
    """Serves `files` (path -> bytes) with HTTP Range support; `truncate[path] = n` makes the next response of
    that path stop after n body bytes (a dropped connection); `no_range` ignores Range headers."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: dict[str, int] = {}
        self.no_range = False
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                server.requests.append((self.path, self.headers.get("Range")))
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start, status = 0, 200
                if self.headers.get("Range") and not server.no_range:
                    start = int(self.headers["Range"].split("=")[1].rstrip("-"))
                    if start >= len(data):
                        self.send_error(416)
                        return
                    status = 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(data) - start))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                body = data[start:]
                cut = server.truncate.pop(self.path, None)
                self.wfile.write(body[:cut] if cut is not None else body)
                if cut is not None:
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


def _payload(n: int = 300_000) -> bytes:
    return bytes((i * 7919) % 251 for i in range(n))


def _tar_gz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_download_checks_md5_and_never_fetches_a_complete_file_again(server, tmp_path):
    data = _payload()
    server.files["/a.bin"] = data
    dest = download(server.url("/a.bin"), tmp_path / "a.bin", f"md5:{hashlib.md5(data).hexdigest()}")
    assert dest.read_bytes() == data and not (tmp_path / "a.bin.part").exists()
    server.files["/a.bin"] = b"changed on the server"
    assert download(server.url("/a.bin"), dest).read_bytes() == data
    assert len(server.requests) == 1


def test_interrupted_transfer_resumes_with_a_range_request(server, tmp_path):
    data = _payload()
    server.files["/big.bin"] = data
    server.truncate["/big.bin"] = 100_000  # the first response drops after 100 kB
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    dest = download(server.url("/big.bin"), tmp_path / "big.bin", digest, retry_wait=0)
    assert dest.read_bytes() == data
    assert server.requests == [("/big.bin", None), ("/big.bin", "bytes=100000-")]


def test_a_killed_run_leaves_a_part_that_the_next_run_completes(server, tmp_path):
    data = _payload()
    server.files["/k.bin"] = data
    (tmp_path / "k.bin.part").write_bytes(data[:123_456])  # what a killed process left behind
    download(server.url("/k.bin"), tmp_path / "k.bin")
    assert (tmp_path / "k.bin").read_bytes() == data and server.requests == [("/k.bin", "bytes=123456-")]


def test_a_server_without_range_support_restarts_the_transfer(server, tmp_path):
    data = _payload()
    server.files["/n.bin"], server.no_range = data, True
    (tmp_path / "n.bin.part").write_bytes(b"x" * 5000)
    assert download(server.url("/n.bin"), tmp_path / "n.bin").read_bytes() == data


def test_a_part_that_is_already_whole_is_finished_without_data(server, tmp_path):
    data = _payload(1000)
    server.files["/w.bin"] = data
    (tmp_path / "w.bin.part").write_bytes(data)
    assert download(server.url("/w.bin"), tmp_path / "w.bin", f"md5:{hashlib.md5(data).hexdigest()}").is_file()


def test_checksum_mismatch_deletes_the_part_and_names_both_digests(server, tmp_path):
    server.files["/c.bin"] = _payload(5000)
    with pytest.raises(UserError, match=r"md5 [0-9a-f]{32} does not match the expected 0{32}"):
        download(server.url("/c.bin"), tmp_path / "c.bin", "md5:" + "0" * 32)
    assert not (tmp_path / "c.bin").exists() and not (tmp_path / "c.bin.part").exists()


def test_a_transfer_that_keeps_failing_is_one_error(server, tmp_path):
    with pytest.raises(UserError, match="HTTP 404"):
        download(server.url("/missing.bin"), tmp_path / "m.bin")
    server.files["/d.bin"] = _payload(10_000)
    server.truncate["/d.bin"] = 10
    with pytest.raises(UserError, match="failed after 1 attempts"):
        download(server.url("/d.bin"), tmp_path / "d.bin", retries=0)
    assert (tmp_path / "d.bin.part").stat().st_size == 10  # kept for the next run to resume


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_fetch_archive_extracts_once_and_resumes_an_interrupted_extraction(server, tmp_path, kind):
    files = {"p001/a.wav": _payload(2000), "p001/b.wav": _payload(3000)}
    server.files[f"/x.{kind}"] = _tar_gz(files) if kind == "tar.gz" else _zip(files)
    out = tmp_path / "corpus"
    out.mkdir()
    (out / "p001").mkdir()
    (out / "p001" / "a.wav").write_bytes(files["p001/a.wav"])  # extracted before an interruption
    (out / "p001" / "b.wav").write_bytes(b"half")  # cut short: extracted again
    fetch_archive(server.url(f"/x.{kind}"), tmp_path / f"x.{kind}", out)
    assert {p: (out / p).read_bytes() for p in files} == files
    assert (out / f".x.{kind}.extracted").is_file()
    (out / "p001" / "a.wav").unlink()
    fetch_archive(server.url(f"/x.{kind}"), tmp_path / f"x.{kind}", out)  # marked done: nothing read or fetched
    assert not (out / "p001" / "a.wav").exists() and len(server.requests) == 1


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_a_corrupt_archive_is_moved_aside_and_fetched_again_by_the_next_run(server, tmp_path, kind):
    good = _tar_gz({"f.txt": _payload(50_000)}) if kind == "tar.gz" else _zip({"f.txt": _payload(50_000)})
    server.files[f"/y.{kind}"] = good[: len(good) // 2]  # a truncated archive, served whole (no checksum known)
    archive = tmp_path / f"y.{kind}"
    with pytest.raises(UserError, match=rf"archive .*y\.{kind} is corrupt .*rerun to download it again"):
        fetch_archive(server.url(f"/y.{kind}"), archive, tmp_path / "out")
    assert not archive.exists() and (tmp_path / f"y.{kind}.corrupt").is_file()
    server.files[f"/y.{kind}"] = good
    fetch_archive(server.url(f"/y.{kind}"), archive, tmp_path / "out")
    assert (tmp_path / "out" / "f.txt").read_bytes() == _payload(50_000)


def test_archive_members_may_not_escape_the_target(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(_tar_gz({"../escape.txt": b"x"}))
    with pytest.raises(UserError, match="outside the target directory"):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
    archive.write_bytes(_tar_gz({"ok.txt": b"x"}))
    assert verify_archive(archive) == 1


def test_checksum_spelling():
    assert parse_checksum("MD5:ab") == ("md5", "ab") and parse_checksum(None) is None
    with pytest.raises(UserError, match="expected md5:<hex> or sha256:<hex>"):
        parse_checksum("crc:1234")
    with pytest.raises(UserError):
        parse_checksum("md5:xyz")
    assert parse_checksum("sha256:AB") == ("sha256", "ab")


def test_cli_url_fetch_and_extract(server, tmp_path, capsys):
    server.files["/z.tar.gz"] = _tar_gz({"LibriSpeech/SPEAKERS.TXT": b"; x\n"})
    argv = ["url", "--url", server.url("/z.tar.gz"), "--dest", str(tmp_path / "z.tar.gz"),
            "--extract_to", str(tmp_path / "root")]
    assert run_main(download_corpus.main, argv) == 0
    assert (tmp_path / "root" / "LibriSpeech" / "SPEAKERS.TXT").is_file()
    assert run_main(download_corpus.main, ["librispeech", "--root", str(tmp_path), "--archive_dir", str(tmp_path),
                                           "--subsets", "test-cleen"]) == 2
    assert "unknown LibriSpeech subset 'test-cleen'" in capsys.readouterr().err
