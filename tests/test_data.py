"""Data layer: the IDX reader on files written here, the catalogue's lookup and atomic verified downloads, the
real MNIST splits, binarization."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from vaelab.data import binarize_dynamic, binarize_static, load_dataset
from vaelab.data.catalog import download, locate_file, get_spec, search_roots
from vaelab.data.idx import read_idx, read_idx_pair, write_idx
from vaelab.core.errors import DatasetError


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
    with pytest.raises(DatasetError, match="cut.gz: cannot decompress"):
        read_idx(tmp_path / "cut.gz")


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


# downloads -------------------------------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    payload = b"x" * 100_000

    def do_GET(self):  # noqa: N802
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


def test_download_verifies_and_renames(tmp_path, server):
    sha = hashlib.sha256(_Handler.payload).hexdigest()
    dest = tmp_path / "cache" / "ds" / "file.bin"
    assert download(server + "/ok", dest, sha, progress=False) == dest
    assert dest.read_bytes() == _Handler.payload
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]


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


def test_offline_error_lists_expected_files(tmp_path, monkeypatch):
    monkeypatch.delenv("VAELAB_DATA", raising=False)
    spec = get_spec("mnist")
    with pytest.raises(DatasetError) as err:
        locate_file("mnist", spec.files[0], data_dir=tmp_path, allow_download=False)
    msg = str(err.value)
    for f in spec.files:
        assert f.name in msg
    assert str(tmp_path / "mnist") in msg and "--data-dir" in msg


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
    with pytest.raises(DatasetError, match="val_size=60000"):
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
