"""``emoji``: colour emoji images from the npm packages of iamcal's emoji-data, as a dataset with labels.

Sets (``CATALOG``'s ``emoji*`` entries; ``vaelab.data.catalog.EMOJI_SETS`` pins them):

* ``twitter``: ``emoji-datasource-twitter`` 16.0.0, Twemoji's artwork (graphics CC-BY 4.0, Twitter, Inc. and other
  contributors);
* ``google``: ``emoji-datasource-google`` 16.0.0, Noto Emoji's artwork (Apache License 2.0, Google).

Each tarball holds 3,786 PNGs of 64x64 RGBA under ``package/img/<set>/64/`` and ``package/emoji.json``, which
gives every emoji's Unicode name, category, subcategory and skin-tone variations. Apple's and Facebook's sets are
not freely licensed and are not offered.

Dataset names: ``emoji`` (every emoji, both sets: 7,572 images), ``emoji-faces`` (the categories "Smileys &
Emotion" and "People & Body": 2,430 images per set, 4,860 in all, the five skin tones among them) and each of them
with one set only (``emoji-twitter``, ``emoji-google``, ``emoji-faces-twitter``, ``emoji-faces-google``).

Images: the RGBA PNG composited over white, RGB, resized from 64x64 when another ``image_size`` is asked for (e.g.
32x32; ``vaelab.data.images.prepare``: Pillow's antialiased bilinear filter). ``labels`` are the category
(``info["classes"]``); ``attributes`` (each ``(N,)`` int64, value names in ``info["attributes"]``):

* ``category``, ``subcategory``: as emoji.json gives them;
* ``skin_tone``: 0 none (the default yellow), 1-5 the Fitzpatrick modifiers U+1F3FB..U+1F3FF (light ... dark),
  6 mixed (two people of different tones);
* ``set``: 0 twitter, 1 google;
* ``hair``: 0 unspecified, then red, curly, white, bald, blond (from the Unicode name, e.g. "WOMAN: RED HAIR");
* ``smiling``: 1 where the subcategory is face-smiling or the name says SMILING, GRINNING, LAUGHING or JOY.

Split (deterministic, the same on every machine): by emoji, so an emoji's skin tones and both sets' pictures of
it fall in one split: the first byte of SHA-256(emoji.json's ``unified`` of the base emoji) modulo 10 is 0 for
test, 1 for validation, else train. Within a split the images are ordered by SHA-256 of ``<set>/<image file>``
(a fixed shuffle). Validation sits at the end of ``train-full``; ``val_size`` then counts from the end.

Files: the tarball ``<package>-16.0.0.tgz`` is looked up in ``<root>/emoji/`` of each data root (``--data-dir``,
``$VAELAB_DATA``, the cache), else downloaded from the npm registry into the cache; its SHA-512 is checked against
the pinned npm integrity before it is opened. It is read without extracting anything to disk: a member path that
is absolute or climbs with ``..``, a link or special file, more than ``MAX_MEMBERS`` members or a member over its
size limit refuses the whole archive. The decoded RGBA pixels and the needed fields of emoji.json are kept in
``<cache>/emoji/<package>-16.0.0.npz`` (also looked up in the data roots, e.g. as prepared by ``make data``).

Source: J. Cal Henderson, emoji-data (https://github.com/iamcal/emoji-data); emoji VAEs as in Latent Space
Cartography (Liu et al., EuroVis 2019).
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import re
import tarfile
from pathlib import Path

import numpy as np

from vaelab.core.errors import DatasetError, StorageError
from vaelab.core.io import atomic_path
from vaelab.core.naming import option
from vaelab.data.arrays import Parts, Split
from vaelab.data.catalog import (
    EMOJI_SETS,
    EMOJI_VARIANTS,
    EMOJI_VERSION,
    cache_dir,
    download,
    get_spec,
    matches,
    offline,
    search_roots,
)
from vaelab.data.files import probe_data_file
from vaelab.data.images import prepare

FOLDER = "emoji"
CACHE_FORMAT = 1
IMAGE_SIZE = (64, 64)
MAX_MEMBERS = 20_000
MAX_PNG_BYTES = 1 << 20
MAX_JSON_BYTES = 64 << 20
MAX_TOTAL_BYTES = 512 << 20
FACE_CATEGORIES = ("Smileys & Emotion", "People & Body")
CATEGORIES = (
    "Smileys & Emotion",
    "People & Body",
    "Component",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
)
SKIN_TONES = ("none", "light", "medium-light", "medium", "medium-dark", "dark", "mixed")
_TONE_CODES = ("1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF")
HAIR = ("unspecified", "red", "curly", "white", "bald", "blond")
_HAIR_WORDS = ("RED HAIR", "CURLY HAIR", "WHITE HAIR", "BALD", "BLOND HAIR")
_SMILING = re.compile(r"SMIL|GRIN|LAUGH|\bJOY\b")
_MEMO: dict[tuple, Parts] = {}  # (dataset, size, decoded files with their mtimes) -> Parts, in this process
SPLIT_RULE = (
    "by emoji: first byte of SHA-256(base emoji's unified code) mod 10 = 0 test, 1 validation, else train; "
    "ordered by SHA-256(<set>/<image file>) within a split"
)


def package_file(key: str) -> str:
    """The tarball's file name, ``emoji-datasource-<set>-16.0.0.tgz``."""
    return f"{EMOJI_SETS[key]['package']}-{EMOJI_VERSION}.tgz"


def _unsafe(name: str) -> bool:
    norm = posixpath.normpath(name.replace("\\", "/"))
    return name.startswith(("/", "\\")) or norm == ".." or norm.startswith("../") or ":" in name.split("/")[0]


def _member_bytes(tar: tarfile.TarFile, m: tarfile.TarInfo, limit: int, where: str) -> bytes:
    if m.size > limit:
        raise DatasetError(f"{where}: member {m.name!r} holds {m.size} bytes, more than {limit}; archive refused")
    return tar.extractfile(m).read()


def read_tarball(path: str | Path, key: str) -> tuple[dict[str, bytes], bytes]:
    """The 64x64 PNGs (by file name) and emoji.json of an emoji-datasource tarball, read in memory.

    Args:
        path: the ``.tgz`` (its SHA-512 already checked).
        key: ``twitter`` or ``google``.

    Raises:
        DatasetError: not a readable gzip tar; a member path that is absolute or climbs with ``..``; a link,
            device or FIFO member; more than ``MAX_MEMBERS`` members; a member or the total over its size limit;
            no emoji.json or no PNG.
    """
    where = str(path)
    prefix = f"package/img/{key}/64/"
    pngs: dict[str, bytes] = {}
    meta, total, count = None, 0, 0
    try:
        with tarfile.open(path, "r:gz") as tar:
            for m in tar:
                count += 1
                if count > MAX_MEMBERS:
                    raise DatasetError(f"{where}: more than {MAX_MEMBERS} members; archive refused")
                if _unsafe(m.name):
                    raise DatasetError(f"{where}: unsafe member path {m.name!r} (absolute or '..'); archive refused")
                if not (m.isreg() or m.isdir()):
                    raise DatasetError(f"{where}: member {m.name!r} is a link or special file; archive refused")
                name = posixpath.normpath(m.name)
                if name == "package/emoji.json":
                    meta = _member_bytes(tar, m, MAX_JSON_BYTES, where)
                elif m.isreg() and posixpath.dirname(name) + "/" == prefix and name.endswith(".png"):
                    pngs[posixpath.basename(name)] = _member_bytes(tar, m, MAX_PNG_BYTES, where)
                else:
                    continue
                total += m.size
                if total > MAX_TOTAL_BYTES:
                    raise DatasetError(f"{where}: more than {MAX_TOTAL_BYTES} bytes to read; archive refused")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{where}: not a readable .tgz archive ({exc}); expected {package_file(key)}") from exc
    if meta is None or not pngs:
        raise DatasetError(f"{where}: no package/emoji.json or no PNG under {prefix}; not {package_file(key)}")
    return pngs, meta


def _tone(unified: str) -> int:
    tones = {_TONE_CODES.index(c) + 1 for c in unified.upper().split("-") if c in _TONE_CODES}
    return 0 if not tones else tones.pop() if len(tones) == 1 else len(SKIN_TONES) - 1


def _hair(name: str) -> int:
    return next((i + 1 for i, w in enumerate(_HAIR_WORDS) if w in name.upper()), 0)


def records(emoji_json: bytes, key: str) -> list[dict]:
    """One record per image of ``key``'s set in emoji.json: the base emoji and each skin-tone variation.

    Returns:
        Dicts with ``image`` (file name), ``group`` (the base emoji's unified code), ``category``,
        ``subcategory``, ``name``, ``skin_tone`` (index into ``SKIN_TONES``), ``hair``, ``smiling``, ``order``.
    """
    out = []
    for e in json.loads(emoji_json):
        name, sub = e.get("name") or "", e.get("subcategory") or ""
        common = {
            "group": e["unified"],
            "category": e["category"],
            "subcategory": sub,
            "name": name,
            "hair": _hair(name),
            "smiling": int(sub == "face-smiling" or bool(_SMILING.search(name.upper()))),
            "order": int(e.get("sort_order", 0)),
        }
        variants = [e, *(e.get("skin_variations") or {}).values()]
        for v in variants:
            if v.get(f"has_img_{key}"):
                out.append({**common, "image": v["image"], "skin_tone": _tone(v["unified"])})
    return out


def _decode_rgba(pngs: dict[str, bytes], recs: list[dict], where: str) -> np.ndarray:
    """The RGBA pixels ``(N, 64, 64, 4)`` uint8 of each record's PNG (size checked from the header first)."""
    from PIL import Image

    out = np.empty((len(recs), *IMAGE_SIZE, 4), np.uint8)
    for i, r in enumerate(recs):
        data = pngs.get(r["image"])
        if data is None:
            raise DatasetError(f"{where}: emoji.json lists {r['image']} but the archive has no such PNG")
        try:
            with Image.open(io.BytesIO(data)) as im:
                if im.size != IMAGE_SIZE[::-1]:
                    raise DatasetError(f"{where}: {r['image']} is {im.size[0]}x{im.size[1]}; expected 64x64")
                out[i] = np.asarray(im.convert("RGBA"))
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise DatasetError(f"{where}: {r['image']} is not a readable PNG ({exc})") from exc
    return out


def _decoded_name(key: str) -> str:
    return f"{EMOJI_SETS[key]['package']}-{EMOJI_VERSION}.npz"


def _read_decoded(path: Path, key: str):
    """``(rgba, records)`` from a decoded-set file if it is vaelab's for this pinned tarball, else None."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != CACHE_FORMAT or meta.get("integrity") != EMOJI_SETS[key]["integrity"]:
                return None
            rgba = z["rgba"]
    except (OSError, ValueError, KeyError, EOFError):
        return None
    recs = meta["records"]
    if rgba.shape != (len(recs), *IMAGE_SIZE, 4) or rgba.dtype != np.uint8:
        return None
    return rgba, recs


def _write_decoded(path: Path, key: str, rgba: np.ndarray, recs: list[dict]) -> None:
    """Write a decoded set atomically (a full disk only costs the next load a decode)."""
    meta = {"format": CACHE_FORMAT, "integrity": EMOJI_SETS[key]["integrity"], "records": recs}
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, rgba=rgba, meta=np.array(json.dumps(meta)))
    except (OSError, StorageError):
        pass


def _offline_line(dataset: str, key: str, roots: list[Path]) -> str:
    pkg, f = EMOJI_SETS[key]["package"], package_file(key)
    return (
        f"dataset {dataset!r}: {f} not found in {', '.join(str(r / FOLDER) for r in roots)} and downloads are off "
        f"(VAELAB_OFFLINE); unset VAELAB_OFFLINE to fetch it once from the npm registry (SHA-512 checked), run "
        f"`make data` in a source checkout, or put {f} (`npm pack {pkg}@{EMOJI_VERSION}`) in DIR/{FOLDER}/ and pass "
        "--data-dir DIR"
    )


def locate_tarball(dataset: str, key: str, data_dir=None, allow_download: bool | None = None, progress=True) -> Path:
    """The set's tarball, SHA-512 checked: found in ``<root>/emoji/`` of a data root, else downloaded into the
    cache from the npm registry.

    Raises:
        DatasetError: a local copy whose SHA-512 differs from the pinned integrity (one line; the file is kept);
            not found and downloads off (one line saying what to provide); the download fails or its SHA-512
            differs (nothing kept).
    """
    spec = get_spec(dataset)
    fspec = next(f for f in spec.files if f.name == package_file(key))
    expected = f"{fspec.name}, the npm tarball of {EMOJI_SETS[key]['package']} {EMOJI_VERSION}"
    roots = search_roots(data_dir)
    for root in roots:
        path = root / FOLDER / fspec.name
        if probe_data_file(path, expected):
            if matches(path, fspec.checksums, expected) is None:
                raise DatasetError(
                    f"{path}: SHA-512 differs from the npm integrity pinned for {EMOJI_SETS[key]['package']} "
                    f"{EMOJI_VERSION} ({EMOJI_SETS[key]['integrity']}); the file is corrupt or another version "
                    "(remove it to download it again)"
                )
            return path
    if allow_download is None:
        allow_download = not offline()
    if not allow_download:
        raise DatasetError(_offline_line(dataset, key, roots))
    src = fspec.sources[0]
    try:
        return download(src.url, cache_dir() / FOLDER / fspec.name, src.checksum, fspec.size, progress=progress)
    except DatasetError as exc:
        raise DatasetError(f"{exc}; or put {fspec.name} in DIR/{FOLDER}/ and pass {option('data_dir', 'DIR')}") from exc


def _decoded_candidates(key: str, data_dir=None) -> list[Path]:
    """The decoded-set files present in ``<root>/emoji/`` of the data roots, in lookup order."""
    return [p for r in search_roots(data_dir) if (p := r / FOLDER / _decoded_name(key)).is_file()]


def load_set(dataset: str, key: str, data_dir=None, allow_download=None, progress=True):
    """One set's RGBA pixels ``(N, 64, 64, 4)`` uint8 and its records (``records``), decoded once and kept.

    Looks for the decoded ``<package>-16.0.0.npz`` in ``<root>/emoji/`` of each data root first, else reads the
    tarball (``locate_tarball``, ``read_tarball``) and writes the decoded file into the cache.

    Raises:
        DatasetError: see ``locate_tarball`` and ``read_tarball``.
    """
    for path in _decoded_candidates(key, data_dir):
        if (hit := _read_decoded(path, key)) is not None:
            return hit
    tarball = locate_tarball(dataset, key, data_dir, allow_download, progress)
    pngs, meta = read_tarball(tarball, key)
    recs = records(meta, key)
    rgba = _decode_rgba(pngs, recs, str(tarball))
    _write_decoded(cache_dir() / FOLDER / _decoded_name(key), key, rgba, recs)
    return rgba, recs


def _hash(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def split_of(group: str) -> str:
    """``train``, ``val`` or ``test`` for the emoji whose base unified code is ``group`` (module docstring)."""
    k = _hash(group)[0] % 10
    return "test" if k == 0 else "val" if k == 1 else "train"


def _names(values, order: list[str]) -> tuple[list[str], np.ndarray]:
    names = sorted(set(values), key=order.index)
    return names, np.asarray([names.index(v) for v in values], np.int64)


def _attributes(rows: list[dict]) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """The attribute arrays of the selected rows and their value names."""
    cats, cat = _names([r["category"] for r in rows], list(CATEGORIES) + sorted({r["category"] for r in rows}))
    sub_order = [r["subcategory"] for r in sorted(rows, key=lambda r: r["order"])]
    subs, sub = _names([r["subcategory"] for r in rows], sub_order)
    arrays = {
        "category": cat,
        "subcategory": sub,
        "skin_tone": np.asarray([r["skin_tone"] for r in rows], np.int64),
        "set": np.asarray([r["set"] for r in rows], np.int64),
        "hair": np.asarray([r["hair"] for r in rows], np.int64),
        "smiling": np.asarray([r["smiling"] for r in rows], np.int64),
    }
    names = {
        "category": cats,
        "subcategory": subs,
        "skin_tone": list(SKIN_TONES),
        "set": ["twitter", "google"],
        "hair": list(HAIR),
        "smiling": ["no", "yes"],
    }
    return arrays, names


def _to_rgb(rgba: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """RGBA ``(N, 64, 64, 4)`` -> RGB on white ``(N, 3, H, W)`` uint8 (``vaelab.data.images.prepare``)."""
    from PIL import Image

    out = np.empty((len(rgba), 3, *size), np.uint8)
    for i, px in enumerate(rgba):
        out[i] = prepare(Image.fromarray(px, "RGBA"), size, 3)
    return out


def read_emoji(dataset: str, data_dir=None, allow_download=None, image_size=None, progress: bool = True) -> Parts:
    """An ``emoji*`` dataset (module docstring): images, labels (category), attributes and the split.

    Args:
        dataset: one of ``EMOJI_VARIANTS`` (``emoji``, ``emoji-faces``, ``emoji-twitter``, ...).
        data_dir: searched first for ``emoji/<tarball or decoded file>``.
        allow_download: fetch a missing tarball from the npm registry (None: unless ``$VAELAB_OFFLINE``).
        image_size: ``(H, W)``; default 64x64.
        progress: show download progress.

    Returns:
        ``Parts``: uint8 ``(N, 3, H, W)`` RGB on white; the training pool ends with the validation emoji.

    Raises:
        DatasetError: see ``load_set``.
    """
    sets, faces = EMOJI_VARIANTS[dataset]
    size = tuple(int(v) for v in (image_size or IMAGE_SIZE))
    found = [_decoded_candidates(k, data_dir)[:1] for k in sets]
    memo = (dataset, size, tuple((str(p[0]), p[0].stat().st_mtime_ns) for p in found)) if all(found) else None
    if memo in _MEMO:
        return _MEMO[memo]
    rows, pixels = [], []
    for index, key in enumerate(EMOJI_SETS):
        if key not in sets:
            continue
        rgba, recs = load_set(dataset, key, data_dir, allow_download, progress)
        keep = [i for i, r in enumerate(recs) if not faces or r["category"] in FACE_CATEGORIES]
        rows += [{**recs[i], "set": index, "key": f"{key}/{recs[i]['image']}"} for i in keep]
        pixels.append(rgba[keep])
    attrs, names = _attributes(rows)
    full = Split(_to_rgb(np.concatenate(pixels), size), attrs["category"], attrs)
    order = sorted(range(len(rows)), key=lambda i: _hash(rows[i]["key"]))
    where = {s: [i for i in order if split_of(rows[i]["group"]) == s] for s in ("train", "val", "test")}
    info = {
        "classes": names["category"],
        "attributes": names,
        "sets": {k: {**EMOJI_SETS[k], "version": EMOJI_VERSION} for k in sets},
        "split_rule": SPLIT_RULE,
    }
    parts = Parts(full.take(where["train"] + where["val"]), full.take(where["test"]), len(where["val"]), info)
    if memo is not None:  # the splits of one dataset are loaded one after the other: keep the last two
        _MEMO.update({memo: parts})
        while len(_MEMO) > 2:
            _MEMO.pop(next(iter(_MEMO)))
    return parts


def fetch(data_dir=None, log=print) -> list[Path]:
    """Make sure both sets are decoded in the cache (``make data``): each tarball found or downloaded (SHA-512
    checked), read safely and decoded once into ``<cache>/emoji/``.

    Returns:
        The decoded-set files, one per set.

    Raises:
        DatasetError: see ``load_set``.
    """
    out = []
    for key in EMOJI_SETS:
        load_set("emoji", key, data_dir, allow_download=None, progress=log is not None)
        path = _decoded_candidates(key, data_dir)[0]
        if log is not None:
            log(f"emoji set {key} ({EMOJI_SETS[key]['package']} {EMOJI_VERSION}): {path}")
        out.append(path)
    return out


def main() -> int:
    """``make data``: fetch and decode both emoji sets into the cache; exit 1 with one line on failure. (Called
    as a function: ``python -m vaelab.data.emoji`` works too, with runpy's warning that ``vaelab.data`` imported
    this module first.)"""
    import sys

    try:
        fetch()
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
