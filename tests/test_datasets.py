"""The colour and fashion datasets: emoji, Fashion-MNIST and CelebA on files written here in each dataset's layout,
their integrity checks (one line each), and the real Fashion-MNIST (Debian) and emoji (npm, `make data`) files."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vaelab.core.errors import ConfigError, DatasetError
from vaelab.data import catalog, load_dataset
from vaelab.data import emoji as emoji_mod
from vaelab.data.catalog import CATALOG, EMOJI_VARIANTS, FileSpec, Source, locate
from vaelab.data.idx import write_idx

TONES = ("1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF")


# emoji -----------------------------------------------------------------------------------------------------------
def _png(rgba: tuple[int, int, int, int], size=(64, 64)) -> bytes:
    """A PNG of one colour; the left half transparent, so compositing over white shows."""
    a = np.zeros((size[1], size[0], 4), np.uint8)
    a[:] = rgba
    a[:, : size[0] // 2, 3] = 0
    buf = io.BytesIO()
    Image.fromarray(a, "RGBA").save(buf, format="PNG")
    return buf.getvalue()


def _entries() -> list[dict]:
    """emoji.json entries: 12 face emoji with the five skin tones, hair, a smile; two flags (not faces)."""
    out = []
    for i in range(12):
        base = f"1F9{i:02X}"
        e = {
            "name": ["GRINNING FACE", "WOMAN: RED HAIR", "MAN: BALD", "PERSON"][i % 4] + f" {i}",
            "unified": base,
            "image": f"{base.lower()}.png",
            "category": "Smileys & Emotion" if i % 2 == 0 else "People & Body",
            "subcategory": "face-smiling" if i % 4 == 0 else "person",
            "sort_order": i,
            "has_img_twitter": True,
        }
        if i % 2:
            e["skin_variations"] = {
                t: {"unified": f"{base}-{t}", "image": f"{base.lower()}-{t.lower()}.png", "has_img_twitter": True}
                for t in TONES
            }
        out.append(e)
    for i in range(2):
        out.append(
            {
                "name": f"FLAG {i}",
                "unified": f"1F1E{i}",
                "image": f"1f1e{i}.png",
                "category": "Flags",
                "subcategory": "country-flag",
                "sort_order": 100 + i,
                "has_img_twitter": True,
            }
        )
    return out


def _tarball(path: Path, members: list[tuple[str, bytes]], links: tuple[tuple[str, str], ...] = ()) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def _emoji_tarball(root: Path) -> Path:
    """``root/emoji/emoji-datasource-twitter-16.0.0.tgz`` in the npm package's layout (colours by skin tone)."""
    members = [("package/package.json", b"{}"), ("package/emoji.json", json.dumps(_entries()).encode())]
    for e in _entries():
        members.append((f"package/img/twitter/64/{e['image']}", _png((200, 40, 40, 255))))
        for k, v in enumerate((e.get("skin_variations") or {}).values()):
            members.append((f"package/img/twitter/64/{v['image']}", _png((40 * k, 100, 200, 255))))
    members.append(("package/img/twitter/sheets/64.png", b"not read"))
    (root / "emoji").mkdir(parents=True, exist_ok=True)
    return _tarball(root / "emoji" / emoji_mod.package_file("twitter"), members)


def _pin(monkeypatch, tgz: Path) -> str:
    """Pin the twitter set to the test's tarball, as catalog.py pins the real one (npm integrity, SHA-512)."""
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
    monkeypatch.setitem(catalog.EMOJI_SETS, "twitter", {**catalog.EMOJI_SETS["twitter"], "integrity": integrity})
    for name, (sets, faces) in EMOJI_VARIANTS.items():
        monkeypatch.setitem(CATALOG, name, catalog._emoji_spec(name, sets, faces))
    return integrity


@pytest.fixture
def emoji_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    _pin(monkeypatch, _emoji_tarball(root))
    monkeypatch.setattr(emoji_mod, "_MEMO", {})
    return root


def test_emoji_layout_labels_split_and_sizes(emoji_root, monkeypatch):
    parts = {s: load_dataset("emoji-faces-twitter", s, emoji_root) for s in ("train", "val", "test")}
    n = sum(len(p) for p in parts.values())
    assert n == 12 + 6 * 5  # 12 face emoji, 6 of them with five skin tones; the two flags are not faces
    info = parts["train"].info
    assert info["classes"] == ["Smileys & Emotion", "People & Body"]
    assert info["attributes"]["skin_tone"][1] == "light" and info["sets"]["twitter"]["version"] == "16.0.0"
    assert "CC-BY 4.0" in info["sets"]["twitter"]["licence"] and "CC-BY 4.0" in info["licence"]
    attrs = {k: np.concatenate([p.attributes[k].numpy() for p in parts.values()]) for k in parts["train"].attributes}
    assert sorted(np.bincount(attrs["skin_tone"]).tolist()) == [6, 6, 6, 6, 6, 12]  # 12 bases, 6 of each tone
    # red hair: 3 emoji with five tones each (18 images); bald: 3 without tones
    assert np.bincount(attrs["hair"], minlength=6).tolist() == [21, 18, 0, 0, 3, 0]
    assert attrs["smiling"].sum() == 3 and (attrs["set"] == 0).all()
    labels = np.concatenate([p.labels.numpy() for p in parts.values()])
    assert (labels == attrs["category"]).all() and np.bincount(labels).tolist() == [6, 36]
    for p in parts.values():  # RGB composited over white: the transparent left half is white, the right coloured
        x = p.images
        assert x.shape[1:] == (3, 64, 64) and float(x[:, :, :, :32].min()) == 1.0
        assert float(x[:, 2, :, 40:].max()) < 1.0 or float(x[:, 0, :, 40:].max()) < 1.0
    # the split is by emoji: no emoji (its unified base) in two splits
    groups = {s: {emoji_mod.split_of(f"1F9{i:02X}") for i in range(12)} for s in parts}
    assert all(len(g) >= 1 for g in groups.values())
    assert len(parts["val"]) == sum(1 + 5 * (i % 2) for i in range(12) if emoji_mod.split_of(f"1F9{i:02X}") == "val")
    small = load_dataset("emoji-faces-twitter", "test", emoji_root, image_size=(32, 32))
    assert small.images.shape[1:] == (3, 32, 32) and len(small) == len(parts["test"])
    all_emoji = load_dataset("emoji-twitter", "train-full", emoji_root)
    assert len(all_emoji) + len(load_dataset("emoji-twitter", "test", emoji_root)) == 44
    assert "Flags" in all_emoji.info["classes"]


def test_emoji_decoded_once_and_deterministic(emoji_root, monkeypatch):
    first = load_dataset("emoji-faces-twitter", "train", emoji_root)
    monkeypatch.setattr(emoji_mod, "_MEMO", {})

    def no_tarball(*a, **k):
        raise AssertionError("the tarball was read again")

    monkeypatch.setattr(emoji_mod, "read_tarball", no_tarball)
    again = load_dataset("emoji-faces-twitter", "train", emoji_root)  # from the decoded file in the cache
    assert (first.images == again.images).all() and (
        first.attributes["skin_tone"] == again.attributes["skin_tone"]
    ).all()
    assert (Path(catalog.cache_dir()) / "emoji" / "emoji-datasource-twitter-16.0.0.npz").is_file()


def test_emoji_integrity_and_offline_lines(tmp_path, monkeypatch):
    root = tmp_path / "data"
    tgz = _emoji_tarball(root)
    with pytest.raises(DatasetError) as err:  # the real pin: the test's tarball is not emoji-datasource-twitter
        load_dataset("emoji-faces-twitter", "test", root)
    msg = str(err.value)
    assert "\n" not in msg and str(tgz) in msg and "SHA-512 differs from the npm integrity" in msg
    tgz.unlink()
    with pytest.raises(DatasetError) as err:  # offline (conftest), nothing anywhere: one line saying what to do
        load_dataset("emoji-faces", "test", root)
    msg = str(err.value)
    assert "\n" not in msg and "emoji-datasource-twitter-16.0.0.tgz not found in" in msg and "--data-dir DIR" in msg
    assert "downloads are off (VAELAB_OFFLINE)" in msg and "npm pack emoji-datasource-twitter@16.0.0" in msg


@pytest.mark.parametrize(
    "members, links, why",
    [
        ([("package/../../evil.png", b"x")], (), "unsafe member path"),
        ([("/etc/evil", b"x")], (), "unsafe member path"),
        ([("package/emoji.json", b"[]")], (("package/img/twitter/64/a.png", "/etc/passwd"),), "link or special"),
        ([("package/emoji.json", b"[]"), ("package/img/twitter/64/a.png", b"x" * (2 << 20))], (), "more than"),
        ([("package/README.md", b"x")], (), "no package/emoji.json"),
    ],
)
def test_emoji_tarball_refused_unless_safe(tmp_path, members, links, why):
    tgz = _tarball(tmp_path / "bad.tgz", members, links)
    with pytest.raises(DatasetError, match=why):
        emoji_mod.read_tarball(tgz, "twitter")


@pytest.fixture
def served(tmp_path):
    """A local HTTP server answering every GET with b"emoji"."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"emoji")

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/package.tgz"
    srv.shutdown()
    srv.server_close()


def test_npm_integrity_pin_and_sha512_download_check(tmp_path, served):
    spec = CATALOG["emoji"].files[0]
    pinned = catalog.EMOJI_SETS["twitter"]["integrity"]
    assert spec.name == "emoji-datasource-twitter-16.0.0.tgz"
    assert spec.sources[0].url == "https://registry.npmjs.org/emoji-datasource-twitter/-/" + spec.name
    assert spec.sources[0].checksum == "sha512:" + base64.b64decode(pinned[len("sha512-") :]).hex()
    data = tmp_path / "f.bin"
    data.write_bytes(b"emoji")
    good = "sha512:" + hashlib.sha512(b"emoji").hexdigest()
    assert catalog.matches(data, {good}) == good and catalog.matches(data, {"sha512:" + "0" * 128}) is None
    with pytest.raises(DatasetError, match="expected a sha512"):
        catalog.npm_checksum("sha1-abc")
    with pytest.raises(DatasetError, match=r"SHA-512 does not match the expected 0000"):
        catalog.download(served, tmp_path / "dl" / "x.tgz", "sha512:" + "0" * 128, progress=False)
    assert list((tmp_path / "dl").iterdir()) == []  # nothing kept
    assert catalog.download(served, tmp_path / "dl" / "x.tgz", good, progress=False).read_bytes() == b"emoji"


# Fashion-MNIST -----------------------------------------------------------------------------------------------
def _fashion_files(folder: Path) -> dict[str, str]:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for prefix, n in (("train", 30), ("t10k", 8)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_fashion_mnist_layout_and_integrity(tmp_path, monkeypatch):
    sums = _fashion_files(tmp_path / "fashion-mnist")
    spec = CATALOG["fashion-mnist"]
    with pytest.raises(DatasetError) as err:  # files that are not the official ones (nor Debian's)
        locate("fashion-mnist", tmp_path)
    assert "\n" not in str(err.value) and "matches none of the known checksums" in str(err.value)
    files = tuple(dataclasses.replace(f, also=(*f.also, sums[f.name])) for f in spec.files)
    monkeypatch.setitem(CATALOG, "fashion-mnist", dataclasses.replace(spec, files=files, system_roots=()))
    train = load_dataset("fashion-mnist", "train", tmp_path, val_size=5)
    test = load_dataset("fashion-mnist", "test", tmp_path, val_size=5)
    assert train.images.shape == (25, 1, 28, 28) and test.labels.tolist() == list(range(8))
    assert train.info["classes"][9] == "Ankle boot" and train.info["licence"].startswith("MIT")


def test_fashion_mnist_from_debian(fashion_mnist_debian):
    paths = locate("fashion-mnist")  # offline, isolated cache, no VAELAB_DATA copy: Debian's folder
    assert {p.parent for p in paths.values()} == {fashion_mnist_debian}
    test = load_dataset("fashion-mnist", "test", limit=100)
    train = load_dataset("fashion-mnist", "train")
    assert train.images.shape == (50000, 1, 28, 28) and test.labels[:5].tolist() == [9, 2, 1, 1, 6]
    assert test.info["classes"][test.labels[0]] == "Ankle boot" and 0.0 == float(train.images.min())


# CelebA ----------------------------------------------------------------------------------------------------------
ATTRS = [f"Attr_{k}" for k in range(38)] + ["Smiling", "Young"]


def _celeba(root: Path, n: int = 12) -> Path:
    """``root/celeba`` in CelebA's layout: n JPEGs of 178x218 (red 6 pixels beyond the centre 148x148 on each
    side, blue outside), the attribute and partition files (6 train, 3 validation, 3 test)."""
    folder = root / "celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    names, rows, parts = [], [], []
    for i in range(n):
        a = np.zeros((218, 178, 3), np.uint8)
        a[..., 2] = 255
        a[29:189, 9:169] = (220, 20 * (i % 5), 20)
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(a).save(folder / name, quality=95)
        values = rng.choice([-1, 1], 40)
        names.append(name)
        rows.append(f"{name} " + " ".join(f"{v:2d}" for v in values))
        parts.append(f"{name} {0 if i < 6 else 1 if i < 9 else 2}")
    (root / "celeba" / "list_attr_celeba.txt").write_text(f"{n}\n{' '.join(ATTRS)}\n" + "\n".join(rows) + "\n")
    (root / "celeba" / "list_eval_partition.txt").write_text("\n".join(parts) + "\n")
    return root / "celeba"


def _pin_celeba(monkeypatch, folder: Path) -> None:
    spec = CATALOG["celeba"]
    files = []
    for f in spec.files:
        p = folder / f.name
        md5 = "md5:" + hashlib.md5(p.read_bytes()).hexdigest() if p.is_file() else f.sources[0].checksum
        files.append(FileSpec(f.name, (Source(f.sources[0].url, md5),), f.size))
    monkeypatch.setitem(CATALOG, "celeba", dataclasses.replace(spec, files=tuple(files)))


def test_celeba_layout_crop_attributes_and_zip(tmp_path, monkeypatch):
    folder = _celeba(tmp_path)
    with pytest.raises(DatasetError) as err:  # the official MD5s: the test's annotation files are not CelebA's
        load_dataset("celeba", "test", tmp_path)
    assert "\n" not in str(err.value) and "list_attr_celeba.txt" in str(err.value) and "MD5" in str(err.value)
    _pin_celeba(monkeypatch, folder)
    parts = {s: load_dataset("celeba", s, tmp_path) for s in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [6, 3, 3] and parts["train"].labels is None
    x = parts["train"].images
    assert x.shape[1:] == (3, 64, 64) and float(x[:, 2].max()) < 0.25  # the blue border is cropped away
    assert float(x[:, 0].mean()) > 0.8
    values = np.loadtxt(folder / "list_attr_celeba.txt", skiprows=2, usecols=range(1, 41), dtype=int)
    assert parts["test"].attributes["Smiling"].tolist() == (values[9:, 38] > 0).astype(int).tolist()
    assert list(parts["val"].info["attributes"]) == ATTRS and parts["val"].info["crop"] == [148, 148]
    small = load_dataset("celeba", "val", tmp_path, image_size=(32, 32))
    assert small.images.shape == (3, 3, 32, 32)
    with zipfile.ZipFile(folder / "img_align_celeba.zip", "w") as z:  # the zip instead of the folder
        for p in sorted((folder / "img_align_celeba").iterdir()):
            z.write(p, f"img_align_celeba/{p.name}")
    for p in (folder / "img_align_celeba").iterdir():
        p.unlink()
    (folder / "img_align_celeba").rmdir()
    _pin_celeba(monkeypatch, folder)
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "fresh-cache"))
    assert (load_dataset("celeba", "train", tmp_path).images == x).all()


def test_celeba_offline_without_files_is_one_line(tmp_path):
    with pytest.raises(DatasetError) as err:
        load_dataset("celeba", "train", tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "list_attr_celeba.txt" in msg and "img_align_celeba/" in msg and "data_dir=" in msg
    from vaelab.core.naming import flag_names

    with flag_names(), pytest.raises(DatasetError, match="--data-dir"):  # the command line names the flag
        load_dataset("celeba", "train", tmp_path)
    with pytest.raises(ConfigError, match="strict_data="):
        load_dataset("celeba", "train", tmp_path, strict_data=True)


# the real emoji sets (`make data`) ---------------------------------------------------------------------------
def test_real_emoji_faces(emoji_data_dir):
    parts = {s: load_dataset("emoji-faces", s, emoji_data_dir) for s in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [3762, 484, 614]  # 2,430 images per set
    a = {k: np.concatenate([p.attributes[k].numpy() for p in parts.values()]) for k in ("set", "skin_tone", "hair")}
    assert np.bincount(a["set"]).tolist() == [2430, 2430]
    tones = np.bincount(a["skin_tone"], minlength=7)
    assert tones[1] == tones[2] == tones[3] == tones[4] == tones[5] > 500 and tones[0] > 1000
    assert all((a["hair"] == k).sum() >= 12 for k in range(1, 6))  # red, curly, white, bald, blond
    x = parts["test"].images
    corner = (x[:, :, 0, 0] == 1.0).all(dim=1).float().mean()  # transparent corners composited on white
    assert x.shape[1:] == (3, 64, 64) and float(corner) > 0.9, float(corner)
    everything = load_dataset("emoji-google", "test", emoji_data_dir, image_size=(32, 32))
    assert everything.images.shape[1:] == (3, 32, 32) and len(everything.info["classes"]) == 10
