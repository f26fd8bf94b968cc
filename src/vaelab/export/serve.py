"""A small static file server for the explorer site (``http.server.ThreadingHTTPServer``).

It serves only files inside the site folder: request paths with a ``..`` segment (also when percent-encoded,
``%2e%2e``), backslashes, NUL bytes, absolute paths after decoding (``//etc/passwd``, ``/%2Fetc``) and paths
that resolve (through symlinks) outside the site are refused with 403. It binds 127.0.0.1 unless another host
is asked for, answers GET and HEAD only, and sends the MIME types the page needs (``.mjs`` as
``text/javascript``, ``.wasm`` as ``application/wasm`` for streaming compilation).

Connections are bounded: a connection that sends nothing for ``idle_timeout`` seconds (also between requests of
a kept-alive connection) is closed, and at most ``max_threads`` connections are served at once (a further one
waits in the listen queue until a handler thread is free; ``BoundedThreadingHTTPServer``).

A connection the browser aborts (a page left while its ONNX files download, a closed tab) ends the handler with
``BrokenPipeError``, ``ConnectionResetError`` or ``ConnectionAbortedError``; such a connection is dropped silently
(``CLIENT_GONE``), while any other error in a handler is still reported on stderr with its traceback.

No COOP/COEP headers are sent: the page runs onnxruntime-web single-threaded, so that the published static site
behaves the same on hosts that cannot set headers (e.g. GitHub Pages).
"""

from __future__ import annotations

import posixpath
import sys
import threading
import urllib.parse
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".onnx": "application/octet-stream",
    ".bin": "application/octet-stream",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}


class Refused(Exception):
    """A request path that points outside the site or is malformed."""


def resolve_request_path(root: Path, raw_path: str) -> Path:
    """Map a request target to a file under ``root``.

    Args:
        root: the site folder.
        raw_path: the request target as sent: origin-form (``/path?query``) or absolute-form
            (``http://host/path``); percent-encoding is decoded.

    Returns:
        The real path of the file (symlinks resolved; ``index.html`` for a folder). It may not exist: the
        caller answers 404 then.

    Raises:
        Refused: ``..`` segments (plain or percent-encoded), backslashes, NUL, absolute paths after decoding,
            or a path whose real location (symlinks followed) is outside ``root``.
        UnicodeDecodeError: percent-encoded bytes that are not UTF-8 (the handler answers 403 to both).
    """
    root = root.resolve()
    if raw_path.startswith("/"):  # origin-form: path [? query] (a leading '//' is an absolute path, refused below)
        path = raw_path.split("?", 1)[0].split("#", 1)[0]
    else:  # absolute-form (http://host/path) is accepted; anything else is refused
        parts = urllib.parse.urlsplit(raw_path)
        if parts.scheme not in ("http", "https"):
            raise Refused(raw_path)
        path = parts.path or "/"
    if not path.startswith("/"):
        raise Refused(raw_path)
    decoded = urllib.parse.unquote(path, errors="strict")
    if "\x00" in decoded or "\\" in decoded:
        raise Refused(raw_path)
    rel = decoded[1:]
    if rel.startswith("/") or posixpath.isabs(rel) or (len(rel) > 1 and rel[1] == ":"):
        raise Refused(raw_path)
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise Refused(raw_path)
    target = root.joinpath(*parts) if parts else root
    real = target.resolve()
    if not real.is_relative_to(root):
        raise Refused(raw_path)
    if real.is_dir():
        real = real / "index.html"
    return real


CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
"""What a handler raises when the client closed its connection first: not worth a traceback."""

IDLE_TIMEOUT_S = 15.0  # an idle connection is closed after this many seconds
MAX_THREADS = 16  # connections served at once


class SiteHandler(BaseHTTPRequestHandler):
    """GET / HEAD of files under ``self.root``; see the module docstring.

    Args:
        root: the site folder (keyword, bound with ``functools.partial`` by ``make_server``).
        quiet: no request log on stderr.
        idle_timeout: seconds a connection may stay silent before it is closed (the socket's timeout:
            ``http.server`` closes the connection when a read times out).
    """

    def version_string(self) -> str:
        """The ``Server`` header: ``vaelab``, without Python's version."""
        return "vaelab"

    protocol_version = "HTTP/1.1"

    def __init__(self, *args, root: Path, quiet: bool = True, idle_timeout: float = IDLE_TIMEOUT_S, **kwargs):
        self.root = Path(root)
        self.quiet = quiet
        self.timeout = idle_timeout  # StreamRequestHandler.setup applies it to the connection's socket
        super().__init__(*args, **kwargs)

    def log_message(self, format, *args):  # noqa: A002 (signature of the base class)
        """Log a request to stderr as ``http.server`` does, unless ``quiet``."""
        if not self.quiet:
            super().log_message(format, *args)

    def _error(self, status: HTTPStatus) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self) -> None:
        words = self.requestline.split()
        target = words[1] if len(words) >= 2 else self.path  # http.server collapses a leading '//'; check the original
        try:
            path = resolve_request_path(self.root, target)
        except (Refused, UnicodeDecodeError):
            return self._error(HTTPStatus.FORBIDDEN)
        if not path.is_file():
            return self._error(HTTPStatus.NOT_FOUND)
        data = path.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", MIME_TYPES.get(path.suffix.lower(), "application/octet-stream"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = _serve
    do_HEAD = _serve

    def _not_allowed(self):
        self._error(HTTPStatus.METHOD_NOT_ALLOWED)

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed


class BoundedThreadingHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` with at most ``max_threads`` handler threads alive at once.

    ``process_request`` (called by the accept loop) takes a slot of a bounded semaphore before it starts the
    connection's thread, and the thread gives it back when the connection ends; while every slot is taken, new
    connections wait in the listen queue. ``active`` and ``peak`` count the live handler threads (for tests).
    """

    daemon_threads = True

    def __init__(self, *args, max_threads: int = MAX_THREADS, **kwargs):
        if max_threads < 1:
            raise ValueError(f"max_threads={max_threads}: expected at least 1")
        self.max_threads = max_threads
        self._slots = threading.BoundedSemaphore(max_threads)
        self._count_lock = threading.Lock()
        self.active = 0
        self.peak = 0
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        """Wait for a free slot, then serve the connection in a new thread."""
        self._slots.acquire()
        with self._count_lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request, client_address):
        """Serve one connection (in its thread) and give its slot back."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def handle_error(self, request, client_address):
        """Report an error of a handler on stderr (``socketserver``'s traceback), except a connection the client
        aborted (``CLIENT_GONE``), which is dropped without a word."""
        if isinstance(sys.exc_info()[1], CLIENT_GONE):
            return
        super().handle_error(request, client_address)

    def _release(self) -> None:
        with self._count_lock:
            self.active -= 1
        self._slots.release()


def make_server(
    root: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    quiet: bool = True,
    idle_timeout: float = IDLE_TIMEOUT_S,
    max_threads: int = MAX_THREADS,
) -> BoundedThreadingHTTPServer:
    """A threading HTTP server serving the site folder ``root`` on ``host:port`` (port 0: a free port).

    Call ``serve_forever()`` (e.g. in a thread) and ``shutdown()``; the bound port is ``server.server_address[1]``.

    Args:
        root: the site folder (as written by ``vaelab site``).
        host: the address to bind (default loopback only).
        port: the TCP port; 0 picks a free one.
        quiet: no request log on stderr.
        idle_timeout: seconds after which a silent connection is closed.
        max_threads: connections served at once (``BoundedThreadingHTTPServer``).

    Returns:
        The bound server, not yet serving (its handler threads are daemons).

    Raises:
        OSError: the address is in use or cannot be bound.
    """
    handler = partial(SiteHandler, root=Path(root).resolve(), quiet=quiet, idle_timeout=idle_timeout)
    return BoundedThreadingHTTPServer((host, port), handler, max_threads=max_threads)
