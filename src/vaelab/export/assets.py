"""onnxruntime-web's files for the explorer page: found in the package, in the cache, or fetched once.

The page runs its networks with onnxruntime-web's WebAssembly backend: three files (``VENDOR_FILES``) of the npm
package pinned in ``web/package-lock.json``. The package carries what it needs to get and check them without node,
in ``vaelab/web/onnxruntime-web.json`` (written by ``web/ort_lock.py`` during ``make web``): the version, the
tarball's URL on the npm registry, the lockfile's ``integrity`` (SHA-512 of the tarball) and each file's size and
SHA-256. ``vendor_files()`` looks, in order, in

1. the package's ``vaelab/web/vendor/`` (``make web`` copies the files there; a wheel built after ``make web``
   carries them);
2. the per-user cache, ``CACHE/onnxruntime-web/VERSION/`` (``CACHE``: ``$VAELAB_CACHE``, else
   ``$XDG_CACHE_HOME/vaelab``, else ``~/.cache/vaelab``, as for datasets);
3. else it downloads the tarball over HTTPS (``$VAELAB_ORT_WEB_URL`` overrides the URL, e.g. a mirror), checks its
   SHA-512 against the pinned integrity before opening it, extracts the three files only (by their fixed names:
   a member's own path is never used as a path on disk; an archive with a member path that is absolute or climbs
   with ``..``, or whose wanted member is a link, is refused) and checks each file's SHA-256, writing each
   atomically into the cache. ``VAELAB_OFFLINE=1`` turns the download off.

Every failure is one ``ExportError`` line saying what to do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import posixpath
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path

from vaelab.core.errors import ExportError
from vaelab.core.io import atomic_path
from vaelab.data.catalog import cache_dir

LOCK_NAME = "onnxruntime-web.json"
VENDOR_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MAX_TARBALL_BYTES = 256 << 20  # the 1.30.0 tarball is 33 MB
MAX_FILE_BYTES = 64 << 20
URL_ENV = "VAELAB_ORT_WEB_URL"


def web_dir() -> Path:
    """The package's ``web`` folder (page sources, ``onnxruntime-web.json`` and ``vendor/``)."""
    return Path(str(resources.files("vaelab") / "web"))


def ort_lock() -> dict:
    """The pinned onnxruntime-web: ``vaelab/web/onnxruntime-web.json`` (version, tarball, integrity, files).

    Raises:
        ExportError: the file is missing or not the expected JSON (reinstall vaelab).
    """
    path = web_dir() / LOCK_NAME
    try:
        lock = json.loads(path.read_text())
        if not all(k in lock for k in ("version", "tarball", "integrity", "files")):
            raise ValueError("keys version, tarball, integrity, files expected")
    except (OSError, ValueError) as exc:
        raise ExportError(f"{path}: cannot read the pinned onnxruntime-web ({exc}); reinstall vaelab") from exc
    return lock


def cache_root() -> Path:
    """vaelab's per-user cache folder (``vaelab.data.catalog.cache_dir``)."""
    return cache_dir()


def cache_vendor_dir(lock: dict) -> Path:
    """``CACHE/onnxruntime-web/VERSION``: where downloaded files are kept."""
    return cache_root() / "onnxruntime-web" / str(lock["version"])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_folder(folder: Path, lock: dict) -> dict[str, str]:
    """The state of each of the pinned files in ``folder``.

    Args:
        folder: a folder that should hold ``VENDOR_FILES``.
        lock: ``ort_lock()``.

    Returns:
        ``{name: "ok" | "missing" | "corrupt"}``; corrupt: size or SHA-256 differs from the pinned file's.
    """
    out = {}
    for name in VENDOR_FILES:
        path, want = folder / name, lock["files"][name]
        if not path.is_file():
            out[name] = "missing"
        elif path.stat().st_size != want["size"] or _sha256(path) != want["sha256"]:
            out[name] = "corrupt"
        else:
            out[name] = "ok"
    return out


def _offline() -> bool:
    return os.environ.get("VAELAB_OFFLINE", "").lower() in ("1", "true", "yes")


def vendor_files(allow_download: bool | None = None, log=None) -> list[Path]:
    """The three onnxruntime-web files the page loads, checked against the pinned SHA-256.

    Args:
        allow_download: fetch them when neither the package nor the cache has them; None means yes unless
            ``$VAELAB_OFFLINE`` is 1, true or yes.
        log: called with progress lines (None: quiet).

    Returns:
        The paths, in the order of ``VENDOR_FILES`` (all in one folder).

    Raises:
        ExportError: a file in the package is corrupt (run ``make web``); the files are nowhere and downloads are
            off; the download or its checks fail.
    """
    lock = ort_lock()
    pkg = web_dir() / "vendor"
    state = check_folder(pkg, lock)
    if all(s == "ok" for s in state.values()):
        return [pkg / n for n in VENDOR_FILES]
    bad = [n for n, s in state.items() if s == "corrupt"]
    if bad:
        raise ExportError(
            f"{pkg / bad[0]}: corrupt onnxruntime-web file (size or SHA-256 differs from onnxruntime-web "
            f"{lock['version']}'s); run `make web` to reinstall it, or delete {pkg} to let vaelab download a "
            "checked copy"
        )
    cache = cache_vendor_dir(lock)
    if all(s == "ok" for s in check_folder(cache, lock).values()):
        return [cache / n for n in VENDOR_FILES]
    if allow_download is None:
        allow_download = not _offline()
    if not allow_download:
        raise ExportError(
            f"onnxruntime-web {lock['version']} files missing: not in {pkg} nor in {cache}, and downloads are off "
            f"(VAELAB_OFFLINE); unset VAELAB_OFFLINE to fetch them once from the npm registry (SHA-512 checked), "
            f"run `make web` in a source checkout, or copy {', '.join(VENDOR_FILES)} into {cache}"
        )
    fetch_ort_web(lock, cache, log=log)
    return [cache / n for n in VENDOR_FILES]


def _integrity_digest(integrity: str) -> bytes:
    """The SHA-512 digest of an npm ``integrity`` string (``sha512-BASE64``; other algorithms are refused)."""
    for part in integrity.split():
        algo, _, b64 = part.partition("-")
        if algo == "sha512":
            return base64.b64decode(b64, validate=True)
    raise ExportError(f"integrity {integrity[:40]!r}: expected a sha512-... value (npm's lockfile format)")


def _download(url: str, dest: Path, timeout: float, log) -> bytes:
    """Stream ``url`` into ``dest``; return the SHA-512 digest of what was read (at most ``MAX_TARBALL_BYTES``)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme not in ("https", "http"):
        raise ExportError(f"{url}: only https:// (or http://) URLs are fetched")
    h = hashlib.sha512()
    bar = None
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "vaelab"})
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(dest, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            if total and total > MAX_TARBALL_BYTES:
                raise ExportError(f"{url}: {total} bytes announced; at most {MAX_TARBALL_BYTES} expected")
            if log is not None:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc="onnxruntime-web", file=sys.stderr)
            n = 0
            for block in iter(lambda: resp.read(1 << 20), b""):
                n += len(block)
                if n > MAX_TARBALL_BYTES:
                    raise ExportError(f"{url}: more than {MAX_TARBALL_BYTES} bytes; not the expected tarball")
                h.update(block)
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
    except ExportError:
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code} {exc.reason}"
        else:
            reason = getattr(exc, "reason", None) or exc
        raise ExportError(
            f"{url}: cannot download onnxruntime-web ({reason}); connect to the internet and try again, or run "
            "`make web` in a source checkout"
        ) from exc
    finally:
        if bar is not None:
            bar.close()
    return h.digest()


def _unsafe(name: str) -> bool:
    norm = posixpath.normpath(name.replace("\\", "/"))
    return name.startswith(("/", "\\")) or norm == ".." or norm.startswith("../") or ":" in name.split("/")[0]


def _extract(tarball: Path, lock: dict, dest: Path, url: str) -> None:
    """Write the pinned files of ``tarball`` into ``dest`` (by their fixed names), checking each one's SHA-256."""
    wanted = {info["path"]: name for name, info in lock["files"].items() if name in VENDOR_FILES}
    found: dict[str, tarfile.TarInfo] = {}
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            members = tar.getmembers()
            for m in members:
                if _unsafe(m.name) or (m.issym() or m.islnk()) and _unsafe(posixpath.join(m.name, "..", m.linkname)):
                    raise ExportError(
                        f"{url}: unsafe member path {m.name!r} in the archive (absolute or climbing out with '..'); "
                        "nothing was extracted"
                    )
                if m.name in wanted:
                    if m.name in found:
                        raise ExportError(f"{url}: member {m.name!r} appears twice in the archive; nothing extracted")
                    if not m.isreg():
                        raise ExportError(f"{url}: member {m.name!r} is not a regular file; nothing was extracted")
                    if m.size > MAX_FILE_BYTES:
                        raise ExportError(f"{url}: member {m.name!r} holds {m.size} bytes; too large")
                    found[m.name] = m
            missing = sorted(set(wanted) - set(found))
            if missing:
                raise ExportError(f"{url}: the archive lacks {', '.join(missing)}; not onnxruntime-web's tarball")
            dest.mkdir(parents=True, exist_ok=True)
            for member_name, name in wanted.items():
                info = lock["files"][name]
                src = tar.extractfile(found[member_name])
                h = hashlib.sha256()
                with atomic_path(dest / name) as tmp:
                    with open(tmp, "wb") as out:
                        while block := src.read(1 << 20):
                            h.update(block)
                            out.write(block)
                    if h.hexdigest() != info["sha256"]:
                        raise ExportError(
                            f"{url}: {member_name} has SHA-256 {h.hexdigest()[:16]}..., not the pinned "
                            f"{info['sha256'][:16]}...; nothing was kept"
                        )
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ExportError(f"{url}: not a readable .tgz archive ({exc}); nothing was kept") from exc


def fetch_ort_web(lock: dict, dest: Path, url: str | None = None, timeout: float = 60.0, log=None) -> list[Path]:
    """Download the pinned onnxruntime-web tarball, check it, and extract the page's files into ``dest``.

    Args:
        lock: ``ort_lock()`` (version, tarball, integrity, files).
        dest: the folder to write the files into (created).
        url: where to download from (default ``$VAELAB_ORT_WEB_URL``, else ``lock["tarball"]``).
        timeout: seconds to wait for the server at each read.
        log: called with progress lines; a progress bar is shown when given (None: quiet).

    Returns:
        The written files, in the order of ``VENDOR_FILES``.

    Raises:
        ExportError: the download fails, the tarball's SHA-512 differs from ``lock["integrity"]``, the archive is
            unreadable or unsafe, or an extracted file's SHA-256 differs from the pinned one. Nothing partial is
            left in ``dest``.
    """
    url = url or os.environ.get(URL_ENV) or lock["tarball"]
    want = _integrity_digest(lock["integrity"])
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if log is not None:
        log(f"downloading onnxruntime-web {lock['version']} (once) from {url} into {dest}")
    fd, tmp_name = tempfile.mkstemp(prefix="onnxruntime-web.", suffix=".tgz.tmp", dir=dest)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        got = _download(url, tmp, timeout, log)
        if got != want:
            raise ExportError(
                f"{url}: the downloaded file's SHA-512 does not match the integrity pinned for onnxruntime-web "
                f"{lock['version']} (web/package-lock.json); nothing was kept. Try again later or another "
                f"${URL_ENV}"
            )
        try:
            _extract(tmp, lock, dest, url)
        except ExportError:
            for name in VENDOR_FILES:
                (dest / name).unlink(missing_ok=True)
            raise
    finally:
        tmp.unlink(missing_ok=True)
    return [dest / n for n in VENDOR_FILES]


def main() -> int:
    """Make sure the explorer's onnxruntime-web files are here (fetching them
    once if needed) and print where they are. Exit status 1 with one line on failure."""
    try:
        files = vendor_files(log=print)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"onnxruntime-web {ort_lock()['version']} for the explorer: {files[0].parent}/ (SHA-256 checked)")
    return 0
