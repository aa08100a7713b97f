"""Listening page: row selection, word diffs, a self-contained escaped page, and (in headless Chromium) that it
loads without console errors, every <audio> plays and every <img> decodes."""
from __future__ import annotations

import base64
import functools
import html.parser
import http.server
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tts_codec.bin import make_report
from tts_codec.cli import run_main
from tts_codec.errors import UserError
from tts_codec.eval.report import load_score_dir
from tts_codec.eval.report.paired import paired_differences
from tts_codec.eval.report.html_page import (
    Token,
    generated_audio,
    pick_worst_metric,
    reference_audio,
    select_rows,
    word_diff,
)
from tts_codec.testing.score_dirs import fake_utt_ids, make_fake_eval, make_gen_scp, make_score_dir

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING_UTT = "spk1-utt002"
STARTUP_TIMEOUT_S = 120.0


class _Links(html.parser.HTMLParser):
    """Collects tag names and their src/href attributes."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A two-system report of 8 utterances with 6 rows; system "deep" lacks the audio of MISSING_UTT."""
    root = tmp_path_factory.mktemp("report")
    deep = make_fake_eval(root / "deep", n_utts=8, seed=0, missing=[MISSING_UTT])
    shallow = make_score_dir(root / "shallow/score", deep.utts, seed=1)
    shallow_scp = make_gen_scp(root / "shallow/gen", deep.utts, sr=16000)
    argv = ["--score_dir", str(deep.score_dir), "--score_dir", str(shallow), "--name", "deep", "--name", "shallow",
            "--ref_dir", str(deep.ref_dir), "--gen_scp", str(deep.gen_scp), "--gen_scp", str(shallow_scp),
            "--out_dir", str(root / "out"), "--title", "Clone <test> & co", "--max_rows", "6"]
    assert make_report.main(argv) == 0
    return root / "out"


@pytest.mark.parametrize(
    "ref, hyp, expected",
    [
        ("a b c", "a b c", [Token("ok", "a"), Token("ok", "b"), Token("ok", "c")]),
        ("a b c", "a x c", [Token("ok", "a"), Token("sub", "x", "b"), Token("ok", "c")]),
        ("a b c", "a c", [Token("ok", "a"), Token("del", "b"), Token("ok", "c")]),
        ("a b", "a uh b", [Token("ok", "a"), Token("ins", "uh"), Token("ok", "b")]),
        ("a b", "", [Token("del", "a"), Token("del", "b")]),
        ("", "x", [Token("ins", "x")]),
        ("The birch, Canoe.", "the birch canoe", [Token("ok", "the"), Token("ok", "birch"), Token("ok", "canoe")]),
    ],
)
def test_word_diff(ref, hyp, expected):
    assert word_diff(ref, hyp) == expected


def test_select_rows_worst_and_sample(tmp_path: Path):
    utts = fake_utt_ids(20)
    fails = {utts[5]: {"wer": "asr crashed"}}
    sdir = load_score_dir(make_score_dir(tmp_path / "s", utts, seed=2, failures=fails))
    assert pick_worst_metric([sdir], "auto") == "wer"
    rows = select_rows([sdir], max_rows=6, worst_by="wer", seed=0)
    assert len(rows) == 6 and len({u for u, _ in rows}) == 6
    worst = [u for u, why in rows if why == "worst wer"]
    assert worst[0] == utts[5]  # a failed WER ranks as the worst
    scored = sorted((sdir.scores[u]["wer"], u) for u in utts if sdir.scores[u]["wer"] is not None)
    assert min(sdir.scores[u]["wer"] for u in worst[1:]) >= scored[-2][0]
    assert rows == select_rows([sdir], max_rows=6, worst_by="wer", seed=0)  # deterministic
    assert {u for u, _ in select_rows([sdir], 6, None, seed=1)} != {u for u, _ in select_rows([sdir], 6, None, 0)}
    assert [why for _, why in select_rows([sdir], 50, "wer")] == ["all"] * 20
    with pytest.raises(UserError, match="--worst_by nope: not a per-utterance metric"):
        pick_worst_metric([sdir], "nope")


def test_audio_sources(tmp_path: Path):
    fake = make_fake_eval(tmp_path, n_utts=3, missing=["spk1-utt002"])
    from_scp = generated_audio(fake.gen_scp, fake.utts)
    from_dir = generated_audio(fake.gen_scp.parent / "wavs", fake.utts)
    assert from_scp == from_dir and sorted(from_dir) == ["spk1-utt000", "spk2-utt001"]
    specs, texts = reference_audio(fake.ref_dir)
    assert sorted(specs) == fake.utts and specs["spk2-utt001"][1:] == (0.0, None)
    assert texts["spk1-utt000"].endswith("<b>& Co.</b>")
    assert reference_audio(None) == (None, {})


def test_page_is_self_contained_and_escaped(report: Path):
    page = report / "html" / "index.html"
    text = page.read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(text)
    refs = [a.get("src") or a.get("href") for tag, a in parser.tags if a.get("src") or a.get("href")]
    local = [r for r in refs if not r.startswith("data:")]
    assert all(not urlparse(r).scheme and not r.startswith("/") for r in local), local
    for ref in local:
        assert (page.parent / unquote(ref)).is_file(), ref
    audios = [a for tag, a in parser.tags if tag == "audio"]
    assert len(audios) == 6 * 3 - 1  # ref + 2 systems per row, minus the missing generated clip
    assert all(a["preload"] == "none" and "controls" in a for a in audios)
    assert sum(tag == "script" for tag, _ in parser.tags) == 0
    assert "not in the generated wav.scp" in text
    assert "<title>Clone &lt;test&gt; &amp; co</title>" in text
    assert "&lt;b&gt;&amp; Co.&lt;/b&gt;" in text and "<b>" not in text
    labels_txt = (report.parent / "shallow/score/labels_gender.txt").read_text()
    labels = dict(line.split(" ", 1) for line in labels_txt.splitlines())
    assert f"gender: {labels[MISSING_UTT].replace(' ', ' → ')}</li>" in text
    assert (page.parent / "img" / "dist_wer.png").is_file()
    assert (page.parent / "img" / "confusion_sys1_gender.png").is_file()
    assert "[html/index.html](html/index.html)" in (report / "RESULTS.md").read_text()
    paired = text.split("<h2>Paired differences against deep</h2>", 1)[1].split("</table>", 1)[0]
    systems = [load_score_dir(report.parent / "deep" / "score", "deep"),
               load_score_dir(report.parent / "shallow" / "score", "shallow")]
    expected = paired_differences(systems)
    assert expected and paired.count("<tr>") == len(expected) + 1  # the header row and one per difference
    for d in expected:
        assert f"<td>{d.metric}</td>" in paired and f'<td class="{d.verdict}">{d.verdict}</td>' in paired


def test_rerun_refuses_to_clobber(report: Path, capsys):
    argv = ["--score_dir", str(report.parent / "deep/score"), "--out_dir", str(report)]
    before = (report / "html" / "index.html").stat().st_mtime_ns
    assert run_main(make_report.main, argv) == 2
    assert "already exists; pass --overwrite true" in capsys.readouterr().err
    assert (report / "html" / "index.html").stat().st_mtime_ns == before
    assert not [p for p in report.iterdir() if p.name.startswith(".")]  # no temp dirs left behind


def test_generated_dir_without_reference_then_overwrite(tmp_path: Path):
    utts = fake_utt_ids(3)
    gen_scp = make_gen_scp(tmp_path / "gen", utts)
    score = make_score_dir(tmp_path / "score", utts)  # its summary.json names no ref_dir and no gen_scp
    argv = ["--score_dir", str(score), "--gen_scp", str(gen_scp.parent / "wavs"), "--out_dir", str(tmp_path / "out"),
            "--max_rows", "2", "--title", "first"]
    assert make_report.main(argv) == 0
    page = tmp_path / "out" / "html" / "index.html"
    text = page.read_text()
    assert text.count("no reference data dir given") == 2 and text.count("<audio") == 2
    assert make_report.main(argv[:-1] + ["second", "--overwrite", "true"]) == 0
    assert "<title>second</title>" in page.read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["RESULTS.md", "html"]


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
    separated by NUL on fds 3 and 4), so no websocket client or driver is needed."""

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--autoplay-policy=no-user-gesture-required", "--remote-debugging-pipe", "--window-size=1400,2000"]

    def __init__(self, binary: str):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # bash moves our pipe ends onto fds 3 and 4, where Chromium expects them
        redirect = f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w}'
        self._log = open(Path(self.profile) / "chromium.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            ["bash", "-c", redirect, binary, *self.FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            pass_fds=(to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf, self._next_id, self.events = b"", 0, []

    def _log_tail(self) -> str:
        self._log.flush()
        tail = (Path(self.profile) / "chromium.log").read_bytes()[-2000:].decode(errors="replace")
        return f"(Chromium exit code {self.proc.poll()}; its log ends with:\n{tail})"

    def _recv(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._from_chrome], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"no message from Chromium in time {self._log_tail()}")
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError(f"Chromium closed the DevTools pipe {self._log_tail()}")
            self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, timeout: float = 15.0, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._recv(deadline)
            if reply.get("id") != self._next_id:
                self.events.append(reply)
            elif "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            else:
                return reply["result"]

    def wait_event(self, method: str, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._recv(deadline))
        return next(e for e in self.events if e.get("method") == method)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            os.close(fd)
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


PLAY_ALL = """(async () => {
  const results = [];
  for (const audio of document.querySelectorAll('audio')) {
    let error = null;
    try { await audio.play(); } catch (e) { error = String(e); }
    const start = performance.now();
    while (!error && audio.currentTime <= 0 && !audio.error && performance.now() - start < 5000)
      await new Promise(resolve => setTimeout(resolve, 20));
    audio.pause();
    results.push({src: audio.getAttribute('src'), time: audio.currentTime,
                  error: error || (audio.error && audio.error.message) || null});
  }
  const images = [...document.images].map(
    img => ({src: img.getAttribute('src'), ok: img.complete && img.naturalWidth > 0}));
  return {audio: results, images: images};
})()"""


@pytest.mark.chromium
def test_page_loads_and_plays_in_chromium(report: Path):
    if CHROMIUM is None:
        pytest.skip("chromium not installed: run tools/install_system.sh")
    handler = functools.partial(_QuietHandler, directory=str(report / "html"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    browser = Chromium(CHROMIUM)
    try:
        # the first reply waits for Chromium to start: on a loaded 2-core CI machine that took more than 15 s once
        target = browser.send("Target.createTarget", url="about:blank", timeout=STARTUP_TIMEOUT_S)["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", session=session, url=base + "index.html")
        browser.wait_event("Page.loadEventFired", timeout=60)
        result = browser.send("Runtime.evaluate", session=session, expression=PLAY_ALL, awaitPromise=True,
                              returnByValue=True, timeout=60)["result"]["value"]
        if os.environ.get("TTS_CODEC_SCREENSHOT"):  # development aid: look at the page
            shot = browser.send("Page.captureScreenshot", session=session, format="png")["data"]
            Path(os.environ["TTS_CODEC_SCREENSHOT"]).write_bytes(base64.b64decode(shot))
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    events = browser.events
    errors = [e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"]
    errors += [e["params"] for e in events if e.get("method") == "Runtime.consoleAPICalled"
               and e["params"]["type"] in ("error", "assert")]
    errors += [e["params"]["entry"] for e in events if e.get("method") == "Log.entryAdded"
               and e["params"]["entry"]["level"] == "error"]
    assert errors == []
    requested = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    assert requested and all(u.startswith(base) or u.startswith("data:") for u in requested), requested
    assert len(result["audio"]) == 17
    for clip in result["audio"]:
        assert clip["error"] is None and clip["time"] > 0, clip
    assert len(result["images"]) >= 17 and all(img["ok"] for img in result["images"]), result["images"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - keep pytest output clean
        pass
