"""onnxruntime-web's files for the explorer (``vaelab.export.assets``): the pinned lock shipped in the package, and
fetching / checking / extracting the tarball, against a local HTTP server on 127.0.0.1 serving tarballs built here
(no network)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import runpy
import tarfile
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vaelab.cli.main import main as cli_main
from vaelab.core.errors import ExportError
from vaelab.export import assets
from vaelab.export.assets import VENDOR_FILES, check_folder, fetch_ort_web, ort_lock, vendor_files

ROOT = Path(__file__).resolve().parents[1]
FILES = {  # small stand-ins for the three files
    "ort.wasm.min.mjs": b"export const ort = 1;\n",
    "ort-wasm-simd-threaded.mjs": b"export default 2;\n",
    "ort-wasm-simd-threaded.wasm": b"\0asm\1\0\0\0" + bytes(range(256)) * 40,
}


def _tgz(members: list[tuple[str, bytes | None, str]]) -> bytes:
    """A .tgz of (name, data, kind) members; kind "file", "symlink" (data = target) or "dir"."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
            else:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
    return buf.getvalue()


def _good_members():
    return [("package/package.json", b"{}", "file")] + [(f"package/dist/{n}", d, "file") for n, d in FILES.items()]


def _lock(tarball: bytes, url: str = "http://unused.invalid/x.tgz") -> dict:
    return {
        "package": "onnxruntime-web",
        "version": "0.0.0-test",
        "tarball": url,
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
        "files": {
            n: {"path": f"package/dist/{n}", "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
            for n, d in FILES.items()
        },
    }


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, *args, blobs, hits, **kw):
        self.blobs, self.hits = blobs, hits
        super().__init__(*args, **kw)

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        data = self.blobs.get(self.path)
        if data is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def registry():
    """A tarball server on 127.0.0.1: ``registry.put(path, bytes)`` -> URL; ``registry.hits`` lists requests."""
    blobs, hits = {}, []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, blobs=blobs, hits=hits))
    threading.Thread(target=srv.serve_forever, daemon=True).start()

    class Registry:
        def put(self, path, data):
            blobs[path] = data
            return f"http://127.0.0.1:{srv.server_address[1]}{path}"

    r = Registry()
    r.hits = hits
    yield r
    srv.shutdown()
    srv.server_close()


# ---------------------------------------------------------------------------------------------------------
def test_shipped_lock_matches_package_lock():
    """The JSON in the package holds what web/package-lock.json pins (version, integrity, npm's tarball URL), and
    its per-file SHA-256 are those of the files `make web` copied into the package."""
    lock = ort_lock()
    entry = json.loads((ROOT / "web" / "package-lock.json").read_text())["packages"]["node_modules/onnxruntime-web"]
    assert lock["version"] == entry["version"]
    assert lock["integrity"] == entry["integrity"] and lock["integrity"].startswith("sha512-")
    v = entry["version"]
    assert lock["tarball"] == entry.get(
        "resolved", f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{v}.tgz"
    )
    assert sorted(lock["files"]) == sorted(VENDOR_FILES)
    vendor = assets.web_dir() / "vendor"
    assert check_folder(vendor, lock) == dict.fromkeys(VENDOR_FILES, "ok"), "run `make web`"
    # the generator script agrees with the committed JSON (same bytes)
    script = runpy.run_path(str(ROOT / "web" / "ort_lock.py"))
    if (ROOT / "web" / "node_modules" / "onnxruntime-web" / "dist").is_dir():
        assert json.dumps(script["lock_info"](), indent=2) + "\n" == (assets.web_dir() / assets.LOCK_NAME).read_text()


def test_fetch_checks_and_extracts_only_the_three_files(registry, tmp_path):
    tarball = _tgz([*_good_members(), ("package/dist/ort-wasm-simd-threaded.jsep.wasm", b"big", "file")])
    url = registry.put("/ort.tgz", tarball)
    dest = tmp_path / "cache" / "onnxruntime-web" / "0.0.0-test"
    files = fetch_ort_web(_lock(tarball), dest, url=url)
    assert [p.name for p in files] == list(VENDOR_FILES)
    assert sorted(p.name for p in dest.iterdir()) == sorted(VENDOR_FILES)  # nothing else, no temporaries
    for name, data in FILES.items():
        assert (dest / name).read_bytes() == data
    assert registry.hits == ["/ort.tgz"]


def test_vendor_files_use_the_cache_then_download_once(registry, tmp_path, monkeypatch):
    """No files in the package: the first call downloads into $VAELAB_CACHE/onnxruntime-web/VERSION, the second
    uses the cache; the site gets the files; a corrupt cached file is fetched again."""
    tarball = _tgz(_good_members())
    url = registry.put("/ort.tgz", tarball)
    web = tmp_path / "web"
    web.mkdir()
    (web / assets.LOCK_NAME).write_text(json.dumps(_lock(tarball, url)))
    monkeypatch.setattr(assets, "web_dir", lambda: web)
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "cache"))
    files = vendor_files(allow_download=True)
    cache = tmp_path / "cache" / "onnxruntime-web" / "0.0.0-test"
    assert files == [cache / n for n in VENDOR_FILES] and len(registry.hits) == 1
    assert vendor_files(allow_download=False) == files and len(registry.hits) == 1  # from the cache
    (cache / VENDOR_FILES[2]).write_bytes(b"\0asm truncated")
    assert vendor_files(allow_download=True) == files and len(registry.hits) == 2
    assert (cache / VENDOR_FILES[2]).read_bytes() == FILES[VENDOR_FILES[2]]


def test_corrupt_download_is_refused_and_nothing_is_kept(registry, tmp_path):
    good = _tgz(_good_members())
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF  # one flipped byte
    url = registry.put("/bad.tgz", bytes(bad))
    dest = tmp_path / "dest"
    with pytest.raises(ExportError, match="SHA-512 does not match the integrity pinned"):
        fetch_ort_web(_lock(good), dest, url=url)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize(
    "evil",
    [
        ("../escaped.txt", b"x", "file"),
        ("package/../../escaped.txt", b"x", "file"),
        ("/tmp/escaped-absolute.txt", b"x", "file"),
        ("package/dist/link", b"../../../escaped.txt", "symlink"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-out"],
)
def test_path_traversal_members_are_refused(registry, tmp_path, evil):
    """An archive with a member that climbs out (even one whose SHA-512 matches the pinned integrity) is refused
    before anything is written; no file appears outside (or inside) the target."""
    tarball = _tgz([evil, *_good_members()])
    url = registry.put("/evil.tgz", tarball)
    dest = tmp_path / "a" / "b" / "dest"
    with pytest.raises(ExportError, match="unsafe member path"):
        fetch_ort_web(_lock(tarball), dest, url=url)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "a" / "escaped.txt").exists() and not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/escaped-absolute.txt").exists()


def test_wanted_member_that_is_a_link_or_missing_is_refused(registry, tmp_path):
    members = [m for m in _good_members() if not m[0].endswith(".wasm")]
    linked = _tgz([*members, ("package/dist/ort-wasm-simd-threaded.wasm", b"ort.wasm.min.mjs", "symlink")])
    with pytest.raises(ExportError, match="not a regular file"):
        fetch_ort_web(_lock(linked), tmp_path / "d1", url=registry.put("/l.tgz", linked))
    missing = _tgz(members)
    with pytest.raises(ExportError, match="lacks package/dist/ort-wasm-simd-threaded.wasm"):
        fetch_ort_web(_lock(missing), tmp_path / "d2", url=registry.put("/m.tgz", missing))
    assert list((tmp_path / "d2").iterdir()) == []


def test_member_whose_sha256_differs_from_the_pin_is_refused(registry, tmp_path):
    tarball = _tgz(_good_members())
    lock = _lock(tarball)
    lock["files"]["ort.wasm.min.mjs"]["sha256"] = "0" * 64
    with pytest.raises(ExportError, match="not the pinned"):
        fetch_ort_web(lock, tmp_path / "d", url=registry.put("/t.tgz", tarball))
    assert list((tmp_path / "d").iterdir()) == []


def test_http_errors_and_bad_urls_are_one_clear_error(registry, tmp_path):
    tarball = _tgz(_good_members())
    url = registry.put("/present.tgz", tarball).replace("present", "absent")
    with pytest.raises(ExportError, match="cannot download onnxruntime-web .*404.*make web"):
        fetch_ort_web(_lock(tarball), tmp_path / "d", url=url)
    with pytest.raises(ExportError, match="only https://"):
        fetch_ort_web(_lock(tarball), tmp_path / "d", url="file:///etc/passwd")
    assert list((tmp_path / "d").iterdir()) == []


def test_offline_without_files_says_what_to_do(tmp_path, monkeypatch, capsys, mnist_vae_run):
    web = tmp_path / "web"
    web.mkdir()
    (web / assets.LOCK_NAME).write_text(json.dumps(_lock(b"x")))
    monkeypatch.setattr(assets, "web_dir", lambda: web)
    monkeypatch.setenv("VAELAB_OFFLINE", "1")
    with pytest.raises(ExportError, match="downloads are off .*VAELAB_OFFLINE.*make web"):
        vendor_files()
    # the command line: one line, exit status 1, before any export work
    assert cli_main(["site", str(mnist_vae_run.path), str(tmp_path / "site")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "onnxruntime-web 0.0.0-test files missing" in err[0] and "make web" in err[0]


def test_corrupt_file_in_the_package_says_run_make_web(tmp_path, monkeypatch):
    web = tmp_path / "web"
    (web / "vendor").mkdir(parents=True)
    (web / assets.LOCK_NAME).write_text(json.dumps(_lock(b"x")))
    for name, data in FILES.items():
        (web / "vendor" / name).write_bytes(data)
    monkeypatch.setattr(assets, "web_dir", lambda: web)
    assert vendor_files(allow_download=False) == [web / "vendor" / n for n in VENDOR_FILES]
    (web / "vendor" / "ort-wasm-simd-threaded.mjs").write_bytes(b"export default 3;\n")  # same size, other bytes
    with pytest.raises(ExportError, match="ort-wasm-simd-threaded.mjs: corrupt onnxruntime-web file.*make web"):
        vendor_files(allow_download=False)


def test_missing_or_broken_lock_says_reinstall(tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "web_dir", lambda: tmp_path)
    with pytest.raises(ExportError, match="onnxruntime-web.json: cannot read the pinned onnxruntime-web.*reinstall"):
        ort_lock()
    (tmp_path / assets.LOCK_NAME).write_text('{"version": "1"}')
    with pytest.raises(ExportError, match="reinstall vaelab"):
        ort_lock()
