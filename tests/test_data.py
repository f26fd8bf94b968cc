"""Data layer: the IDX reader on files written here, the catalogue's lookup and atomic verified downloads, the
real MNIST splits, binarization."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import vaelab
from vaelab.core.errors import ConfigError, DatasetError
from vaelab.core.memory import available_memory
from vaelab.data import _loadmat, binarize_dynamic, binarize_static, load_dataset
from vaelab.data.catalog import FileSpec, Source, download, get_spec, locate_file, search_roots
from vaelab.data.idx import read_idx, read_idx_header, read_idx_pair, write_idx

SRC = Path(vaelab.__file__).resolve().parents[1]  # the tree under test, for the subprocesses
MNIST_HEADER = b"\x00\x00\x08\x03" + struct.pack(">3I", 60000, 28, 28)  # train-images: 47,040,000 bytes of payload


# IDX reader ------------------------------------------------------------------------------------------------
@pytest.fixture
def idx_pair(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    write_idx(tmp_path / "img.gz", images)
    write_idx(tmp_path / "lab", labels)  # raw, not compressed
    return tmp_path, images, labels


def test_idx_roundtrip_gzip_and_raw(idx_pair):
    d, images, labels = idx_pair
    assert (d / "img.gz").read_bytes()[:2] == b"\x1f\x8b"
    x, y = read_idx_pair(d / "img.gz", d / "lab")
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_idx_truncated_payload(tmp_path, idx_pair):
    d, images, _ = idx_pair
    raw = gzip.decompress((d / "img.gz").read_bytes())
    (tmp_path / "short").write_bytes(raw[:-100])
    with pytest.raises(DatasetError, match=r"short: payload is \d+ bytes; expected 5488 .*truncated"):
        read_idx(tmp_path / "short")


def test_idx_truncated_gzip_stream(tmp_path, idx_pair):
    d, _, _ = idx_pair
    data = (d / "img.gz").read_bytes()
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="cut.gz: cannot decompress"):  # here the trailer (ISIZE) gives it away
        read_idx(tmp_path / "cut.gz")
    isize = data[-4:]  # the right ISIZE on a cut stream: the decompressor itself must notice
    (tmp_path / "cut2.gz").write_bytes(data[: len(data) // 2] + isize)
    with pytest.raises(DatasetError, match=r"cut2.gz: cannot decompress \("):
        read_idx(tmp_path / "cut2.gz")


def test_idx_wrong_magic(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x03" + struct.pack(">3I", 1, 28, 28) + bytes(784))
    with pytest.raises(DatasetError, match="bad: bad IDX magic number 0x12340803"):
        read_idx(tmp_path / "bad")


def test_idx_garbage_and_trailing_bytes(tmp_path):
    (tmp_path / "garbage").write_bytes(b"hello world, not an idx file")
    with pytest.raises(DatasetError, match="garbage: bad IDX magic"):
        read_idx(tmp_path / "garbage")
    (tmp_path / "long").write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 3) + bytes(5))
    with pytest.raises(DatasetError, match="long: payload is 5 bytes; expected 3 .*trailing garbage"):
        read_idx(tmp_path / "long")


def test_idx_wrong_rank_and_dtype(tmp_path, idx_pair):
    d, _, _ = idx_pair
    with pytest.raises(DatasetError, match="lab: IDX file has 1 dimensions; expected 3"):
        read_idx(d / "lab", expected_ndim=3)
    (tmp_path / "f32").write_bytes(b"\x00\x00\x0d\x01" + struct.pack(">I", 1) + bytes(4))
    with pytest.raises(DatasetError, match="f32: IDX dtype code 0x0d; expected 0x08"):
        read_idx(tmp_path / "f32")


def test_idx_mismatched_counts(tmp_path, idx_pair):
    d, _, labels = idx_pair
    write_idx(tmp_path / "lab6", labels[:6])
    with pytest.raises(DatasetError, match="7 images but .*lab6 has 6 labels"):
        read_idx_pair(d / "img.gz", tmp_path / "lab6")


def _gzip(data: bytes, isize: int | None = None) -> bytes:
    """gzip ``data``; ``isize`` replaces the trailer's uncompressed size (to forge a file that looks consistent)."""
    out = gzip.compress(data)
    return out if isize is None else out[:-4] + struct.pack("<I", isize % 2**32)


def test_idx_huge_dims_rejected_from_the_header(tmp_path):
    # 2**31 x 28 x 28 bytes (1.7 TB) and 2**93 bytes (wraps to 0 in int64: the old reader hit a numpy ValueError)
    for name, dims in (("big", (2**31, 28, 28)), ("overflow", (2**31, 2**31, 2**31))):
        header = b"\x00\x00\x08\x03" + struct.pack(">3I", *dims)
        for suffix, data in (("", header), (".gz", _gzip(header))):
            (tmp_path / (name + suffix)).write_bytes(data)
            with pytest.raises(
                DatasetError,
                match=rf"{name}{suffix}: header declares {np.prod(dims, dtype=object)} "
                r"bytes of payload .*more than the \d+(-byte maximum| bytes of memory available)",
            ):
                read_idx(tmp_path / (name + suffix))
    write_idx(tmp_path / "ok", np.zeros((3, 2), np.uint8))
    with pytest.raises(DatasetError, match="ok: header declares 6 bytes of payload .*more than the 5-byte maximum"):
        read_idx(tmp_path / "ok", max_bytes=5)
    assert read_idx(tmp_path / "ok", max_bytes=6).shape == (3, 2)
    assert available_memory() > 2**20


def test_idx_expected_shape_checked_from_the_header(tmp_path):
    # 32x32 images whose payload is missing: the shape is refused before the payload is read
    (tmp_path / "img32").write_bytes(b"\x00\x00\x08\x03" + struct.pack(">3I", 5, 32, 32))
    write_idx(tmp_path / "lab", np.zeros(5, np.uint8))
    with pytest.raises(DatasetError, match=r"img32: IDX dims 5x32x32; expected Nx28x28"):
        read_idx_pair(tmp_path / "img32", tmp_path / "lab")
    with pytest.raises(DatasetError, match="lab: IDX file has 1 dimensions; expected 2"):
        read_idx(tmp_path / "lab", expected_shape=(5, 1))
    assert read_idx_header(tmp_path / "lab", expected_shape=(None,)).dims == (5,)


def test_idx_gzip_trailer_isize_mismatch(tmp_path):
    # a well-formed gzip whose content is shorter than its header declares: refused from the trailer, not inflated
    header = b"\x00\x00\x08\x01" + struct.pack(">I", 1000)
    (tmp_path / "short.gz").write_bytes(_gzip(header + bytes(10)))
    with pytest.raises(
        DatasetError,
        match=r"short.gz: cannot decompress safely: the gzip trailer records 18 "
        r"uncompressed bytes \(ISIZE.*declares 1008 \(dims 1000\)",
    ):
        read_idx(tmp_path / "short.gz")


def test_idx_gzip_payload_vs_declared_size(tmp_path):
    header = b"\x00\x00\x08\x01" + struct.pack(">I", 1000)
    # the trailer forged to agree with the header: the payload itself is then measured
    (tmp_path / "short.gz").write_bytes(_gzip(header + bytes(10), isize=1008))
    with pytest.raises(DatasetError, match=r"short.gz: cannot decompress \(Incorrect length of data produced\)"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "long.gz").write_bytes(_gzip(header + bytes(1300), isize=1008))
    with pytest.raises(DatasetError, match=r"long.gz: payload is 1300 bytes; expected 1000 for dims 1000 \(trailing"):
        read_idx(tmp_path / "long.gz")
    # right sizes, corrupt CRC: the read past the payload reaches the trailer, which is checked
    data = bytearray(_gzip(header + bytes(1000)))
    data[-8] ^= 0xFF
    (tmp_path / "crc.gz").write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"crc.gz: cannot decompress \(CRC check failed"):
        read_idx(tmp_path / "crc.gz")


def _write_gzip_bomb(path: Path, header: bytes, zeros: int) -> int:
    """A valid gzip file of ``header`` then ``zeros`` zero bytes (a multiple of 16 MiB), built in constant memory.

    One 16 MiB block of zeros is compressed once and its output repeated: a full flush resets the compressor, so
    every block compresses to the same bytes. Returns the uncompressed size.
    """
    block = bytes(16 << 20)
    assert zeros % len(block) == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(header) + c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(header)
    for _ in range(zeros // len(block)):
        crc = zlib.crc32(block, crc)
    with open(path, "wb") as fh:
        fh.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first)
        for _ in range(zeros // len(block) - 1):
            fh.write(again)
        fh.write(c.flush() + struct.pack("<II", crc, (len(header) + zeros) % 2**32))
    return len(header) + zeros


# Reads each file named on the command line with the IDX reader alone (the vaelab.data package, which imports
# torch, is not run), and reports each error, the traced peak and the process's peak resident memory. The peak is
# VmHWM of /proc/self/status: ru_maxrss of a child carries over the parent's peak across fork and exec on Linux.
_BOMB_CHILD = """
import json, resource, sys, tracemalloc, types
import vaelab
pkg = types.ModuleType("vaelab.data")
pkg.__path__ = [vaelab.__path__[0] + "/data"]
sys.modules["vaelab.data"] = pkg
from vaelab.core.errors import DatasetError
from vaelab.data.idx import read_idx
out = {}
for name in sys.argv[1:]:
    tracemalloc.start()
    try:
        read_idx(name, expected_shape=(None, 28, 28))
        out[name] = "no error"
    except DatasetError as exc:
        out[name] = str(exc)
    out[name + ":traced"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
try:
    hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
    out["maxrss"] = int(hwm.split()[1]) * 1024
except (OSError, IndexError):
    out["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
"""


def test_idx_gzip_bomb_stays_small(tmp_path):
    # a train-images header (47 MB declared) followed by 2 GiB of zeros, compressed to about 2 MB
    bomb = tmp_path / "bomb.gz"
    total = _write_gzip_bomb(bomb, MNIST_HEADER, 2**31)
    assert bomb.stat().st_size < 3_000_000 and total == 2**31 + 16
    # the same file with its trailer forged to agree with the header: the reader has to inflate to find out
    forged = tmp_path / "forged.gz"
    data = bomb.read_bytes()
    forged.write_bytes(data[:-4] + struct.pack("<I", 16 + 47_040_000))
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [sys.executable, "-c", _BOMB_CHILD, str(bomb), str(forged)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out[str(bomb) + ":traced"] < 1 << 20  # the header only: nothing inflated
    assert out[str(forged) + ":traced"] < 100 << 20  # the declared 47 MB and one chunk, not 2 GiB
    assert out["maxrss"] < 100 << 20, out
    assert "bomb.gz: cannot decompress safely: the gzip trailer records 2147483664" in out[str(bomb)]
    assert "forged.gz: payload is at least 48088576 bytes; expected 47040000" in out[str(forged)]
    assert "trailing garbage" in out[str(forged)]
    print(
        f"gzip bomb: traced peaks {out[str(bomb) + ':traced']} / {out[str(forged) + ':traced']} bytes, "
        f"process peak RSS {out['maxrss'] / 2**20:.1f} MiB"
    )


# downloads -------------------------------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    payload = b"x" * 100_000

    def do_GET(self):  # noqa: N802
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        if self.path == "/abort":  # promise more than is sent, then hang up
            self.send_header("Content-Length", str(len(self.payload) * 2))
            self.end_headers()
            self.wfile.write(self.payload)
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_download_verifies_and_renames(tmp_path, server, capfd):
    import pooch

    sha = hashlib.sha256(_Handler.payload).hexdigest()
    dest = tmp_path / "cache" / "ds" / "file.bin"
    level = pooch.get_logger().level
    assert download(server + "/ok", dest, sha, progress=False) == dest
    assert dest.read_bytes() == _Handler.payload
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]
    assert pooch.get_logger().level == level and capfd.readouterr().err == ""  # quiet, and pooch's logger restored
    dest2 = tmp_path / "cache" / "ds" / "file2.bin"
    assert download(server + "/ok", dest2, sha, progress=True) == dest2
    err = capfd.readouterr().err
    assert "file2.bin" in err and "100%" in err  # the progress bar names the file and ends full


def test_checksum_mismatch_leaves_nothing(tmp_path, server):
    dest = tmp_path / "cache" / "ds" / "file.bin"
    with pytest.raises(DatasetError, match="does not match the expected 0000"):
        download(server + "/ok", dest, "0" * 64, progress=False)
    assert list(dest.parent.iterdir()) == []  # no file, no .part left behind


def test_aborted_download_leaves_nothing(tmp_path, server):
    dest = tmp_path / "cache" / "ds" / "file.bin"
    sha = hashlib.sha256(_Handler.payload * 2).hexdigest()
    with pytest.raises(DatasetError, match="download failed"):
        download(server + "/abort", dest, sha, progress=False)
    assert list(dest.parent.iterdir()) == []


def test_interrupted_download_leaves_nothing(tmp_path, server, monkeypatch):
    import pooch

    def interrupted(self, url, output_file, pooch_, check_only=False):  # Ctrl-C half-way through the transfer
        with open(output_file, "wb") as fh:
            fh.write(_Handler.payload[:1000])
        raise KeyboardInterrupt

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", interrupted)
    dest = tmp_path / "cache" / "ds" / "file.bin"
    with pytest.raises(KeyboardInterrupt):
        download(server + "/ok", dest, hashlib.sha256(_Handler.payload).hexdigest(), progress=False)
    assert list(dest.parent.iterdir()) == []


def test_mirrors_tried_in_order(tmp_path, server, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("VAELAB_CACHE", str(cache))
    monkeypatch.delenv("VAELAB_DATA", raising=False)
    sha = hashlib.sha256(_Handler.payload).hexdigest()
    bad = (Source(server + "/missing", sha), Source(server + "/ok", "0" * 64), Source(server + "/abort", sha))
    spec = FileSpec("file.bin", (*bad, Source(server + "/ok", sha)))
    assert locate_file("mnist", spec, allow_download=True, progress=False) == cache / "mnist" / "file.bin"
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == ["file.bin"]
    (cache / "mnist" / "file.bin").unlink()
    with pytest.raises(DatasetError) as err:
        locate_file("mnist", FileSpec("file.bin", bad), allow_download=True, progress=False)
    attempts = str(err.value).split("download attempts:")[1]
    assert [line.split(":")[2].split("/")[1] for line in attempts.strip().splitlines()[:3]] == [
        "missing",
        "ok",
        "abort",
    ]
    assert "404" in attempts and "does not match the expected 0000" in attempts
    assert list((cache / "mnist").iterdir()) == []  # nothing left by three failed downloads


def test_offline_error_lists_expected_files(tmp_path, monkeypatch):
    monkeypatch.delenv("VAELAB_DATA", raising=False)
    spec = get_spec("mnist")
    with pytest.raises(DatasetError) as err:
        locate_file("mnist", spec.files[0], data_dir=tmp_path, allow_download=False)
    msg = str(err.value)
    for f in spec.files:
        assert f.name in msg
    assert str(tmp_path / "mnist") in msg and "data_dir=" in msg  # Python names the keyword
    from vaelab.core.naming import flag_names

    with flag_names(), pytest.raises(DatasetError, match="--data-dir"):  # the command line names the flag
        locate_file("mnist", spec.files[0], data_dir=tmp_path, allow_download=False)


def test_lookup_order_and_corrupt_local_file(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("VAELAB_DATA", str(data_dir))
    assert search_roots(tmp_path)[:2] == [tmp_path, data_dir]
    spec = get_spec("mnist").files[3]  # t10k labels
    assert locate_file("mnist", spec) == data_dir / "mnist" / spec.name
    (tmp_path / "mnist").mkdir()
    bad = tmp_path / "mnist" / spec.name
    bad.write_bytes(b"not mnist")
    with pytest.raises(DatasetError, match=f"{bad}: SHA-256 .* matches none"):
        locate_file("mnist", spec, data_dir=tmp_path)
    assert bad.read_bytes() == b"not mnist"  # a user's file is never deleted


# data-file problems: one DatasetError naming the path, in the lookup and in the readers ---------------------------
def _bad_paths(root: Path, name: str) -> dict[str, Path]:
    """``<root>/<kind>/mnist/<name>`` as a directory and as a dangling symbolic link."""
    (root / "dir" / "mnist" / name).mkdir(parents=True)
    (root / "link" / "mnist").mkdir(parents=True)
    (root / "link" / "mnist" / name).symlink_to(root / "nowhere" / name)
    return {"dir": root / "dir", "link": root / "link"}


@pytest.mark.parametrize("kind", ["dir", "link"])
def test_bad_data_paths_in_lookup_and_readers(tmp_path, monkeypatch, data_dir, kind):
    monkeypatch.setenv("VAELAB_DATA", str(data_dir))  # the real file is there, later in the lookup order
    spec = get_spec("mnist").files[3]
    root = _bad_paths(tmp_path, spec.name)[kind]
    bad = root / "mnist" / spec.name
    want = {
        "dir": rf"{bad}: is a directory; expected ",
        "link": rf"{bad}: dangling symbolic link to {tmp_path}/nowhere/{spec.name} \(.* does not exist\); expected ",
    }[kind]
    with pytest.raises(DatasetError, match=want + rf"the file {spec.name} of dataset 'mnist' \(sha256 f7ae60f9"):
        locate_file("mnist", spec, data_dir=root)  # not skipped, not "not found"
    with pytest.raises(DatasetError, match=want + "an IDX file"):
        read_idx(bad)
    with pytest.raises(DatasetError, match=want + "a MAT file holding the variable 'ff'"):
        _loadmat(bad, "ff")


def test_other_path_problems(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(
        DatasetError, match=r"loop: symbolic link to .*loop cannot be followed \(a symbolic link loop\)"
    ):
        read_idx(tmp_path / "loop")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(DatasetError, match=r"fifo: is a FIFO \(named pipe\); expected an IDX file"):
        read_idx(tmp_path / "fifo")  # refused without opening it (opening a FIFO would block)
    (tmp_path / "plain").write_bytes(b"x")
    with pytest.raises(DatasetError, match=r"plain/mnist/f: .*plain is not a directory; expected the file"):
        locate_file("mnist", FileSpec("f", (Source("http://127.0.0.1:9/f", "0" * 64),)), data_dir=tmp_path / "plain")
    with pytest.raises(DatasetError, match=r"absent: file not found; expected an IDX file"):
        read_idx(tmp_path / "absent")


# Run as an unprivileged user: root reads a chmod-000 file anyway. The interpreter lives under /root (mode 0700
# here), which uid 65534 cannot reach, so the child starts as root, imports what it needs, then drops to 65534
# for good before touching the files (the same effect as preexec_fn, which would stop the exec itself).
_UNREADABLE_CHILD = """
import json, os, sys
from pathlib import Path
import scipy.io  # imported before the drop: the standard library may be out of reach afterwards
from vaelab.core.errors import DatasetError
from vaelab.data import _loadmat
from vaelab.data.catalog import get_spec, locate_file
from vaelab.data.idx import read_idx
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
root = Path(sys.argv[1])
spec = get_spec("mnist").files[3]
calls = {
    "locate_file": lambda: locate_file("mnist", spec, data_dir=root, allow_download=False),
    "read_idx": lambda: read_idx(root / "mnist" / spec.name),
    "loadmat": lambda: _loadmat(root / "frey-face" / "frey_rawface.mat", "ff"),
    "folder": lambda: read_idx(root / "locked" / "x.gz"),
}
out = {"uid": os.geteuid()}
for name, call in calls.items():
    try:
        call()
        out[name] = "no error"
    except DatasetError as exc:
        out[name] = str(exc)
print(json.dumps(out))
"""


def test_unreadable_files(data_dir):
    spec = get_spec("mnist").files[3]
    root = Path(tempfile.mkdtemp(prefix="vaelab-unreadable-"))  # not under pytest's 0700 folder
    try:
        root.chmod(0o755)
        for sub, src in (("mnist", data_dir / "mnist" / spec.name), ("frey-face", None), ("locked", None)):
            (root / sub).mkdir(mode=0o755)
            dest = root / sub / (spec.name if src else "frey_rawface.mat" if sub == "frey-face" else "x.gz")
            dest.write_bytes(src.read_bytes() if src else b"MATLAB 5.0")
            dest.chmod(0)
        (root / "locked").chmod(0)
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        proc = subprocess.run(
            [sys.executable, "-c", _UNREADABLE_CHILD, str(root)], capture_output=True, text=True, env=env, timeout=120
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
    finally:
        for p in (root / "locked", root / "locked" / "x.gz"):
            p.chmod(stat.S_IRWXU)
        shutil.rmtree(root)
    assert out["uid"] != 0
    denied = "cannot read the file (permission denied for this user); expected "
    assert out["locate_file"] == f"{root / 'mnist' / spec.name}: {denied}the file {spec.name} of dataset 'mnist' " + (
        f"(sha256 {sorted(spec.checksums)[0]}) readable by it"
    )
    assert out["read_idx"] == f"{root / 'mnist' / spec.name}: {denied}an IDX file (raw or gzip) readable by it"
    assert out["loadmat"].startswith(
        f"{root / 'frey-face' / 'frey_rawface.mat'}: {denied}a MAT file holding the variable 'ff'"
    )
    assert out["folder"].startswith(f"{root / 'locked' / 'x.gz'}: cannot look up the file (permission denied on a")


# real data -------------------------------------------------------------------------------------------------
def test_mnist_splits(data_dir):
    train = load_dataset("mnist", "train", data_dir)
    val = load_dataset("mnist", "val", data_dir)
    test = load_dataset("mnist", "test", data_dir, limit=100)
    assert train.images.shape == (50000, 1, 28, 28) and val.images.shape == (10000, 1, 28, 28)
    assert test.images.shape == (100, 1, 28, 28) and test.labels[:4].tolist() == [7, 2, 1, 0]
    assert train.images.dtype == torch.float32 and 0.0 == train.images.min() and train.images.max() == 1.0
    assert train.labels[:3].tolist() == [5, 0, 4]
    small_val = load_dataset("mnist", "val", data_dir, val_size=500)
    torch.testing.assert_close(small_val.images, load_dataset("mnist", "train-full", data_dir).images[-500:])
    with pytest.raises(ConfigError, match="val_size=60000"):
        load_dataset("mnist", "val", data_dir, val_size=60000)


def test_faces(data_dir):
    frey = load_dataset("frey-face", "train-full", data_dir)
    assert frey.image_shape == (1, 28, 20) and frey.labels is None
    assert len(frey) + len(load_dataset("frey-face", "test", data_dir)) == 1965
    olivetti = load_dataset("olivetti-faces", "train-full", data_dir)
    assert olivetti.image_shape == (1, 64, 64) and len(olivetti) == 360
    # upright faces: the top rows (hair / background) differ from the middle rows (face) on average
    assert abs(float(olivetti.images[:, 0, 20:40].mean()) - float(olivetti.images[:, 0, :5].mean())) > 0.01


def test_binarization():
    x = torch.rand(2000, 1, 28, 28)
    g = torch.Generator().manual_seed(0)
    b = binarize_dynamic(x, g)
    assert set(b.unique().tolist()) <= {0.0, 1.0}
    assert abs(b.mean() - x.mean()) < 0.01
    assert not torch.equal(b, binarize_dynamic(x, g))  # fresh sample each call
    torch.testing.assert_close(binarize_static(x, 3), binarize_static(x, 3))
    assert not torch.equal(binarize_static(x, 3), binarize_static(x, 4))


def test_dynamic_binarization_keeps_each_grey_level_probability():
    # every 8-bit grey level v / 255, 4,000 draws each: P(1) within 2^-16 of the level (checked to 4.5 standard
    # errors), black never 1, white always 1; an odd number of pixels per image (the 16-bit words are split)
    levels = torch.cat([torch.arange(256, dtype=torch.float32) / 255, torch.ones(1)])  # 257 pixels per image
    x = levels.repeat(4000, 1).view(4000, 1, 1, 257)
    g = torch.Generator().manual_seed(1)
    freq = binarize_dynamic(x, g).mean(0).flatten()
    p = x[0].flatten()
    se = (p * (1 - p) / 4000).sqrt()
    assert torch.all((freq - p).abs() <= 4.5 * se + 2**-16)
    assert torch.all(freq[p == 0] == 0) and torch.all(freq[p == 1] == 1)
    assert binarize_dynamic(x[:3], torch.Generator().manual_seed(5)).shape == (3, 1, 1, 257)
