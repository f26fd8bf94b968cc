"""The explorer's static server: path-traversal refusals, MIME types, default 127.0.0.1 binding, idle connections
closed after a timeout, a bounded number of handler threads, aborted downloads dropped without a traceback, Ctrl-C
at any moment one line: exit 130 before the site is built, 0 (the way to stop it) after."""

from __future__ import annotations

import http.client
import os
import socket
import struct
import sys
import threading
import time

import pytest

import vaelab.export.serve as serve_module
from vaelab.cli.main import parse
from vaelab.export.serve import CLIENT_GONE, Refused, make_server, resolve_request_path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("serve")
    root = tmp_path / "site"
    (root / "vendor").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>x</title>")
    (root / "app.js").write_text("export {};")
    (root / "vendor" / "ort.wasm.min.mjs").write_text("export const x = 1;")
    (root / "vendor" / "a.wasm").write_bytes(b"\0asm\1\0\0\0")
    (tmp_path / "secret.txt").write_text("SECRET")
    os.symlink(tmp_path / "secret.txt", root / "link-out.txt")
    os.symlink(tmp_path, root / "dir-out")
    os.symlink(root / "app.js", root / "link-in.js")
    return root


@pytest.fixture(scope="module")
def server(site):
    srv = make_server(site)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(srv, raw_path: str, method: str = "GET"):
    host, port = srv.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest(method, raw_path, skip_host=False, skip_accept_encoding=True)
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.getheader("Content-Type"), body


def test_binds_127_0_0_1_by_default(site, tmp_path):
    srv = make_server(site)
    try:
        assert srv.server_address[0] == "127.0.0.1" and srv.server_address[1] > 0
    finally:
        srv.server_close()
    from vaelab.cli.declared import options_from
    from vaelab.core.commands import ExploreOptions

    args = parse(["explore", str(tmp_path)])  # an existing folder: RUN is checked when parsed
    assert options_from(args, ExploreOptions).host == "127.0.0.1"  # the flag's default, from its declaration


def test_serves_files_with_mime_types(server):
    assert _get(server, "/")[0] == 200 and _get(server, "/")[1].startswith("text/html")
    status, ctype, body = _get(server, "/vendor/ort.wasm.min.mjs")
    assert status == 200 and ctype.startswith("text/javascript") and body == b"export const x = 1;"
    assert _get(server, "/vendor/a.wasm")[1] == "application/wasm"
    assert _get(server, "/app.js?v=1")[0] == 200
    assert _get(server, "/link-in.js")[2] == b"export {};"  # symlink inside the site is fine
    status, _, body = _get(server, "/vendor/a.wasm", "HEAD")
    assert status == 200 and body == b""
    assert _get(server, "/missing.js")[0] == 404


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/vendor/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/vendor/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
        "//etc/passwd",
        "/%2Fetc/passwd",
        "/%2F%2Fetc/passwd",
        "/link-out.txt",
        "/dir-out/secret.txt",
        "/index.html%00.js",
    ],
)
def test_refuses_paths_out_of_the_site(server, path):
    status, _, body = _get(server, path)
    assert status == 403, (path, status)
    assert b"SECRET" not in body and b"root:" not in body


def test_refuses_other_methods(server):
    assert _get(server, "/index.html", "POST")[0] == 405


def test_resolve_request_path_unit(site):
    assert resolve_request_path(site, "/") == (site / "index.html").resolve()
    assert resolve_request_path(site, "/vendor/./a.wasm") == (site / "vendor" / "a.wasm").resolve()
    for bad in ("/../x", "/%2e%2e/x", "//etc/passwd", "/link-out.txt", "relative"):
        with pytest.raises(Refused):
            resolve_request_path(site, bad)


def _serving(site, **kw):
    srv = make_server(site, **kw)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _stop(srv):
    srv.shutdown()
    srv.server_close()


def test_idle_connection_is_closed_after_the_timeout(site):
    srv = _serving(site, idle_timeout=0.5)
    try:
        silent = socket.create_connection(srv.server_address[:2], timeout=10)
        t0 = time.monotonic()
        assert silent.recv(1) == b""  # the server closed the silent connection
        waited = time.monotonic() - t0
        assert 0.4 <= waited < 5, waited
        # a kept-alive connection is served, then closed once idle
        conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=10)
        conn.request("GET", "/app.js")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Connection") != "close" and resp.read() == b"export {};"
        t0 = time.monotonic()
        assert conn.sock.recv(1) == b""
        assert 0.4 <= time.monotonic() - t0 < 5
        silent.close()
        conn.close()
    finally:
        _stop(srv)


def test_handler_threads_are_bounded(site):
    """Four silent connections to a server of two threads: two are served (and held until they time out), the
    others wait in the listen queue; a request still gets its answer once a thread is free."""
    srv = _serving(site, idle_timeout=1.0, max_threads=2)
    try:
        idle = [socket.create_connection(srv.server_address[:2], timeout=10) for _ in range(4)]
        time.sleep(0.4)
        assert srv.active == 2 and srv.peak == 2
        t0 = time.monotonic()
        assert _get(srv, "/app.js")[2] == b"export {};"  # waits for a free thread (the idle ones time out)
        assert time.monotonic() - t0 >= 0.3
        assert srv.peak == 2  # never more than two handler threads
        for s in idle:
            s.close()
        deadline = time.monotonic() + 5
        while srv.active and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.active == 0
    finally:
        _stop(srv)


def _until_idle(srv, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while srv.active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.active == 0


def _spy_errors(srv) -> list:
    """Record the type of every error a handler ends with (then handled as the server does)."""
    seen = []
    handle = srv.handle_error

    def spy(request, client_address):
        seen.append(sys.exc_info()[0])
        handle(request, client_address)

    srv.handle_error = spy
    return seen


@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
def test_aborted_downloads_are_dropped_silently(tmp_path, capfd, reset):
    """A browser that leaves the page while a large ONNX file downloads: a client sends the GET and closes at once
    (with SO_LINGER 0: a TCP reset). The server's write fails (BrokenPipeError / ConnectionResetError), nothing is
    printed, and the server goes on serving."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>x</title>")
    (root / "decoder.onnx").write_bytes(os.urandom(32 * 2**20))  # more than the socket buffers hold
    srv = _serving(root)
    seen = _spy_errors(srv)
    try:
        for _ in range(3):
            client = socket.create_connection(srv.server_address[:2], timeout=10)
            if reset:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.sendall(b"GET /decoder.onnx HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            client.close()
            _until_idle(srv)
        assert _get(srv, "/index.html")[0] == 200
    finally:
        _stop(srv)
    assert seen and all(issubclass(t, CLIENT_GONE) for t in seen), seen  # the aborts happened, and only they
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err and "Error" not in err, err


def test_other_handler_errors_are_still_reported(site, capfd, monkeypatch):
    def broken(root, raw_path):
        raise RuntimeError("resolver broke")

    monkeypatch.setattr(serve_module, "resolve_request_path", broken)
    srv = _serving(site)
    try:
        client = socket.create_connection(srv.server_address[:2], timeout=10)
        client.sendall(b"GET /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert client.recv(1) == b""  # the connection is closed without an answer
        client.close()
        _until_idle(srv)
    finally:
        _stop(srv)
    err = capfd.readouterr().err
    assert "Traceback" in err and "RuntimeError: resolver broke" in err, err


def test_max_threads_must_be_positive(site):
    with pytest.raises(ValueError, match="max_threads=0"):
        make_server(site, max_threads=0)


# `vaelab explore` through the command line's main, with the run, the site build and the server stubbed or wrapped so
# that Ctrl-C (SIGINT sent to itself) comes at a chosen moment; "-ignored": SIGINT came in ignored, as in a job
# started with & by a non-interactive shell (a CI script)
CTRL_C_AT = """
import os, signal, sys, webbrowser
from pathlib import Path
import vaelab.export.serve as serve, vaelab.export.site as site_module, vaelab.runs.open as open_module
moment, site = sys.argv[1], Path(sys.argv[2])
if moment.endswith("-ignored"):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
ctrl_c = lambda: os.kill(os.getpid(), signal.SIGINT)
make_server = serve.make_server
def bind(*args, **kwargs):
    server = make_server(*args, **kwargs)
    if moment.startswith("bound"):  # the server has just started listening
        ctrl_c()
    return server
def build_site(runs, out, export=None):
    if moment.startswith("export"):
        ctrl_c()
    return site
def open_page(url):  # right after the "serving ... at http://..." line (--open)
    if moment.startswith("printed"):
        ctrl_c()
serve.make_server, site_module.build_site, webbrowser.open = bind, build_site, open_page
open_module.open_run = lambda path: type("Run", (), {"path": site, "site": site})()
from vaelab.cli.main import main
sys.exit(main(["explore", str(site), "--port", "0", "--open"]))
"""


@pytest.mark.parametrize(
    "moment", ["export", "bound", "bound-ignored", "printed", "printed-ignored", "serving", "serving-ignored"]
)
def test_ctrl_c_at_any_moment_is_one_line(site, moment):
    """Ctrl-C while the runs are exported, right after the port is bound, right after the "serving" line and while
    serving: the server stops with one line on stderr, never a traceback; also where SIGINT came in ignored (there
    it was lost before the server had started serving). Before the site is built the work is cut short
    ("interrupted", exit status 130, as everywhere in the command line); after, Ctrl-C is how the server is stopped
    ("stopped", exit status 0)."""
    import signal
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_AT, moment, str(site)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = ""
    try:
        if moment.startswith("serving"):
            first = proc.stdout.readline()
            assert "serving" in first
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        out = first + out
    finally:
        proc.kill()
    built = moment.split("-")[0] in ("printed", "serving")
    expected = (0, ["vaelab explore: stopped"]) if built else (130, ["vaelab explore: interrupted"])
    assert (proc.returncode, err.splitlines()) == expected, (proc.returncode, out, err)
    assert ("serving" in out) == (moment.split("-")[0] in ("printed", "serving")), out
