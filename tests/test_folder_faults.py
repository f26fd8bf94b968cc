"""Image folders that cannot mislead: a symbolic-link loop, unreadable files and folders, and a 12,000 x 12,000 PNG
first in a folder (its size read from the header, memory bounded), each warned about in one line or refused under
--strict-data."""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vaelab
from vaelab.core.errors import ConfigError
from vaelab.data import folder as folder_mod
from vaelab.data import load_dataset
from vaelab.data.images import open_image

SRC = Path(vaelab.__file__).resolve().parents[1]


def _images(folder: Path, n: int, seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / f"{seed}-{i:02d}.png")


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(folder_mod, "_WARNED", set())


def test_symlink_loop_followed_once_with_one_warning_or_refused(tmp_path, caplog):
    root = tmp_path / "faces"
    _images(root / "a", 6, 1)
    _images(root / "b", 6, 2)
    (root / "a" / "again").symlink_to(root, target_is_directory=True)  # a loop back to the top
    (root / "b" / "self").symlink_to(root / "b", target_is_directory=True)  # a loop onto itself
    with caplog.at_level(logging.WARNING, logger="vaelab.data"):
        parts = [load_dataset(f"folder:{root}", s, skip_bad_images=False) for s in ("train", "val", "test")]
    assert sum(len(p) for p in parts) == 12  # not 492
    info = parts[0].info
    assert sorted(info["symlink_loops"]) == ["a/again", "b/self"] and info["classes"] == ["a", "b"]
    lines = [r.getMessage() for r in caplog.records if r.name == "vaelab.data"]
    assert len(lines) == 1 and "2 symbolic link(s)" in lines[0] and "a/again" in lines[0] and "\n" not in lines[0]
    with pytest.raises(ConfigError) as err:
        load_dataset(f"folder:{root}", "train", strict_data=True)
    assert "a/again" in str(err.value) and "strict_data=True" in str(err.value) and "\n" not in str(err.value)


# As in tests/test_data.py: root reads a chmod-000 file anyway, so the child drops to uid 65534 after its imports.
_CHILD = """
import json, logging, os, sys
from vaelab.core.errors import ConfigError
from vaelab.data import load_dataset
for s in ("train", "val", "test"):  # a first load imports what loading needs while the interpreter is reachable
    load_dataset("folder:" + sys.argv[2], s)
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
lines = []
class Keep(logging.Handler):
    def emit(self, record):
        lines.append(record.getMessage())
logging.getLogger("vaelab.data").addHandler(Keep())
root = sys.argv[1]
parts = [load_dataset("folder:" + root, s) for s in ("train", "val", "test")]
out = {"uid": os.geteuid(), "n": sum(len(p) for p in parts), "unreadable": parts[0].info["unreadable"], "lines": lines}
try:
    load_dataset("folder:" + root, "train", strict_data=True)
    out["strict"] = "no error"
except ConfigError as exc:
    out["strict"] = str(exc)
print(json.dumps(out))
"""


def test_unreadable_folder_and_file_counted_named_or_refused():
    base = Path(tempfile.mkdtemp(prefix="vaelab-unreadable-folder-"))  # not under pytest's 0700 folder
    root = base / "flat"
    try:
        base.chmod(0o755)
        _images(root, 12, 3)
        _images(root / "locked", 6, 4)  # an unreadable sub-folder: 12 of 18 images were used silently
        (root / "3-00.png").chmod(0)  # and an unreadable file
        (root / "locked").chmod(0)
        for p in [base, *base.rglob("*")]:
            if p.is_dir() and p.name != "locked":
                p.chmod(0o755)
        cache = base / "cache"
        cache.mkdir(mode=0o777)
        cache.chmod(0o777)
        env = {**os.environ, "PYTHONPATH": str(SRC), "VAELAB_CACHE": str(cache)}
        _images(base / "warm-up", 4, 5)
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, str(root), str(base / "warm-up")],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
    finally:
        (root / "locked").chmod(stat.S_IRWXU)
        shutil.rmtree(base)
    assert out["uid"] != 0 and out["n"] == 11  # 12 loose images, one unreadable; the locked folder's 6 left out
    assert sorted(u["file"] for u in out["unreadable"]) == ["3-00.png", "locked"]
    assert len(out["lines"]) == 1 and "2 unreadable file(s) or folder(s) left out" in out["lines"][0]
    assert "locked (permission denied)" in out["lines"][0] and "3-00.png" in out["lines"][0]
    assert "strict_data=True" in out["strict"] and "locked" in out["strict"]


def _big_png(path: Path, width: int, height: int) -> None:
    """A width x height RGB PNG of one colour written row by row (a few hundred KB; nothing big in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = b"\x00" + bytes([200, 120, 40]) * width
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


_MEMORY_CHILD = """
import json, resource, sys, time
from vaelab.core.errors import ConfigError, DatasetError
from vaelab.data import load_dataset
root = sys.argv[1]
out = {"baseline_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
t = time.perf_counter()
try:
    load_dataset("folder:" + root, "train")
    out["default"] = "no error"
except (ConfigError, DatasetError) as exc:
    out["default"] = type(exc).__name__ + ": " + str(exc)
out["default_s"] = time.perf_counter() - t
try:
    load_dataset("folder:" + root, "train", image_size=(64, 64))
    out["sized"] = "no error"
except (ConfigError, DatasetError) as exc:
    out["sized"] = type(exc).__name__ + ": " + str(exc)
x = load_dataset("folder:" + root, "train", image_size=(64, 64), skip_bad_images=True)
info = x.info
out.update(n=len(x) + len(load_dataset("folder:" + root, "test", image_size=(64, 64), skip_bad_images=True))
           + len(load_dataset("folder:" + root, "val", image_size=(64, 64), skip_bad_images=True)),
           skipped=info["skipped"], peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def test_huge_png_first_in_folder_checked_from_its_header(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    _big_png(root / "000-huge.png", 12000, 12000)
    with open_image(root / "000-huge.png") as im:
        assert im.size == (12000, 12000)  # a valid PNG header (nothing decoded here either)
    for i in range(6):
        Image.fromarray(np.full((20, 20, 3), 30 * i, np.uint8)).save(root / f"{i + 1:03d}.png")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    # Linux carries a process's peak RSS (ru_maxrss) across fork and exec: a child forked from this large pytest
    # process would start at pytest's peak. A small shell forks the child instead, so its peak is its own.
    launch = ["/bin/sh", "-c", '"$0" -c "$1" "$2"; exit $?', sys.executable, _MEMORY_CHILD, str(root)]
    proc = subprocess.run(launch, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["baseline_mib"] < 400, out  # the child's own imports, not an inherited peak
    huge = str(root / "000-huge.png")
    assert out["default"].startswith(f"ConfigError: {huge}: the first image is 12000x12000 pixels (from its header)")
    assert "image_size='64x64'" in out["default"] and "\n" not in out["default"] and out["default_s"] < 30
    assert out["sized"].startswith(f"DatasetError: {huge}: not a readable image (ImageTooLarge: 12000x12000")
    assert out["n"] == 6 and [s["file"] for s in out["skipped"]] == ["000-huge.png"]
    # measured here: 234 MiB; 1,875 MiB (and 13 s) when the PNG is decoded (MAX_DECODE_PIXELS raised)
    assert out["peak_mib"] < 500, out


def test_large_jpeg_decoded_at_a_reduced_scale(tmp_path, monkeypatch):
    from vaelab.data import images

    monkeypatch.setattr(images, "MAX_DECODE_PIXELS", 100 * 100)
    Image.fromarray(np.full((400, 400, 3), 90, np.uint8)).save(tmp_path / "big.jpg", quality=95)
    Image.fromarray(np.full((400, 400, 3), 90, np.uint8)).save(tmp_path / "big.png")
    out = images.decode_file(tmp_path / "big.jpg", (16, 16), 3)  # drafted to 100x100, then resized
    assert out.shape == (3, 16, 16) and abs(int(out.mean()) - 90) <= 2
    with pytest.raises(images.ImageTooLarge, match="400x400 pixels declared in its header"):
        images.decode_file(tmp_path / "big.png", (16, 16), 3)
