"""Your own images from memory: tensors, numpy arrays or a ``torch.utils.data.Dataset`` given to
``vaelab.train(data=..., val_data=..., test_data=...)``.

What each keyword accepts (``images_from``):

* a ``torch.Tensor`` or ``numpy.ndarray`` of images ``(N, C, H, W)`` or ``(N, H, W)`` (one channel; C is 1 or 3),
  float with values in [0, 1], or ``uint8`` (0..255, divided by 255), or bool;
* a pair ``(images, labels)``: the images as above and integer class labels ``(N,)`` >= 0;
* a ``torch.utils.data.Dataset`` (with ``__len__``) whose items are images
  (a tensor or array ``(C, H, W)`` or ``(H, W)``, or a PIL image) or ``(image, label)`` pairs, as torchvision's
  datasets give them (e.g. with ``transforms.ToTensor()``);
* a ``vaelab.data.ImageDataset`` (e.g. ``run.data("train")`` of another run).

Splits: ``data`` is the training set. A split not given is carved from it as for image folders: the test split is
a fixed, seeded 10 % (at least one image) held out first, the validation split the last ``val_size`` images of what
is left (default 10 %, at least one).

The run does not copy the images into its folder: ``config.json``'s ``dataset`` section records the dataset name
``memory:<16 hex digits>`` (a digest of the splits), and per split the shape, whether it has labels, whether it was
carved, and the SHA-256 of its pixels (float32, after scaling) and labels. The splits stay registered in this
process (``register``) while a ``vaelab.Run`` or other reference holds them, so ``load_dataset("memory:...")``
finds them for evaluation, figures and export; in another process they must be given again
(``vaelab.load_run(path, data=..., test_data=...)``, checked against the recorded digests: ``restore``).
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass, field

import numpy as np
import torch

from vaelab.core.errors import ConfigError, DatasetError
from vaelab.core.naming import option
from vaelab.data.arrays import FIXED_SPLIT_SEED, ImageDataset

PREFIX = "memory:"
SPLIT_KEYWORDS = {"train": "data", "val": "val_data", "test": "test_data"}
_EXPECTED = (
    "expected a tensor or numpy array of images (N, C, H, W) or (N, H, W) with values in [0, 1] (or uint8), an "
    "(images, labels) pair, or a torch.utils.data.Dataset of images or (image, label) pairs"
)


@dataclass(eq=False)
class MemoryData:
    """The splits of one in-memory dataset, registered under ``key`` (``memory:<digest>``).

    Attributes:
        key: the dataset name. splits: ``ImageDataset`` per split present (``train``, ``val``, ``test``).
        record: what ``config.json`` records (module docstring).
    """

    key: str
    splits: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(next(iter(self.splits.values())).images.shape[1:])


_REGISTRY: weakref.WeakValueDictionary[str, MemoryData] = weakref.WeakValueDictionary()


def is_memory_name(name) -> bool:
    """Whether ``name`` names an in-memory dataset (``memory:<digest>``)."""
    return isinstance(name, str) and name.startswith(PREFIX)


# reading what the user gives ---------------------------------------------------------------------------------
def images_from(value, keyword: str) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """The images and labels of one keyword's value (module docstring).

    Args:
        value: what was given. keyword: its keyword (``data``, ``val_data``, ``test_data``), named in errors.

    Returns:
        ``(images float32 (N, C, H, W) in [0, 1], labels int64 (N,) or None, a short description of the source)``.

    Raises:
        ConfigError: anything else, one line naming the keyword and what was expected.
    """
    if isinstance(value, ImageDataset):
        return _images(value.images, keyword), _labels(value.labels, keyword, len(value)), "ImageDataset"
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConfigError(f"{keyword}=: a {type(value).__name__} of {len(value)} items; {_EXPECTED}")
        second = value[1]
        if isinstance(second, (torch.Tensor, np.ndarray)) and second.ndim >= 2:
            raise ConfigError(
                f"{keyword}=: a {type(value).__name__} of two items is read as (images, labels), but its second "
                f"item has shape {tuple(second.shape)}, not labels (N,); join image batches first (torch.cat)"
            )
        images = _images(value[0], keyword)
        return images, _labels(value[1], keyword, len(images)), f"{_kind(value[0])} with labels"
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return _images(value, keyword), None, _kind(value)
    if isinstance(value, torch.utils.data.Dataset):
        return _from_dataset(value, keyword)
    raise ConfigError(f"{keyword}=: got {type(value).__name__}; {_EXPECTED}")


def _kind(x) -> str:
    return "tensor" if isinstance(x, torch.Tensor) else "numpy array"


def _images(x, keyword: str, item: str = "") -> torch.Tensor:
    """``x`` as float32 ``(N, C, H, W)`` in [0, 1] (a copy on the CPU); ``item`` names a Dataset's item shapes."""
    if isinstance(x, np.ndarray):
        if x.dtype == object or x.dtype.kind not in "biuf":
            raise ConfigError(f"{keyword}=: dtype {x.dtype}; expected float values in [0, 1] or uint8 (0-255)")
        x = torch.from_numpy(np.ascontiguousarray(x, dtype=x.dtype.newbyteorder("=")))  # any byte order
    if not isinstance(x, torch.Tensor):
        raise ConfigError(f"{keyword}=: images of type {type(x).__name__}; {_EXPECTED}")
    x = x.detach().cpu()
    shape = tuple(x.shape)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or 0 in x.shape:
        raise ConfigError(
            f"{keyword}=: {item}shape {shape}; expected images (N, C, H, W) or (N, H, W) with N >= 1"
            + _shape_hint(shape)
        )
    if x.shape[1] not in (1, 3):
        hint = " (channels last? use x.permute(0, 3, 1, 2))" if x.shape[3] in (1, 3) else ""
        raise ConfigError(f"{keyword}=: {item}shape {shape}: C = {x.shape[1]}; expected 1 or 3 channels{hint}")
    return _scaled(x, keyword)


def _shape_hint(shape: tuple) -> str:
    """What a refused shape probably is: flattened images (pytorch/examples' ``(N, 784)``) or one image."""
    if len(shape) != 2 or 0 in shape:
        return ""
    side = round(shape[1] ** 0.5)
    if shape[1] >= 64 and side * side == shape[1]:
        return f" (flattened images? reshape them: x.reshape(-1, 1, {side}, {side}))"
    return " (one image? add a batch axis: x[None])"


def _scaled(x: torch.Tensor, keyword: str) -> torch.Tensor:
    if x.dtype == torch.uint8:
        return x.float().div_(255.0)
    if x.dtype == torch.bool:
        return x.float()
    if not x.is_floating_point():
        raise ConfigError(
            f"{keyword}=: dtype {str(x.dtype).replace('torch.', '')}; expected float values in [0, 1] or uint8 "
            "(0-255, divided by 255)"
        )
    x = x.float().clone()
    if not torch.isfinite(x).all():
        raise ConfigError(f"{keyword}=: holds NaN or infinite values; expected pixel values in [0, 1]")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        hint = " (uint8 pixels 0-255 are scaled: pass them as uint8, or divide by 255)" if hi > 1.0 else ""
        raise ConfigError(f"{keyword}=: values from {lo:g} to {hi:g}; expected pixel values in [0, 1]{hint}")
    return x.contiguous()


def _labels(y, keyword: str, n: int) -> torch.Tensor | None:
    """Integer class labels ``(n,)`` >= 0 as int64, or None."""
    if y is None:
        return None
    if isinstance(y, (list, tuple)):
        y = np.asarray(y)
    if isinstance(y, np.ndarray):
        if y.dtype.kind not in "iu":
            raise ConfigError(f"{keyword}=: labels of dtype {y.dtype}; expected integer class labels (N,)")
        y = torch.from_numpy(y.astype(np.int64))  # native byte order too
    if not isinstance(y, torch.Tensor) or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        what = type(y).__name__ if not isinstance(y, torch.Tensor) else str(y.dtype).replace("torch.", "")
        raise ConfigError(f"{keyword}=: labels of type {what}; expected integer class labels (N,)")
    y = y.detach().cpu().long()
    if tuple(y.shape) != (n,):
        raise ConfigError(f"{keyword}=: labels of shape {tuple(y.shape)}; expected ({n},), one per image")
    if n and int(y.min()) < 0:
        raise ConfigError(f"{keyword}=: a label is {int(y.min())}; expected class labels >= 0")
    return y.clone()


def _item_image(image, keyword: str, i: int):
    """One Dataset item's image as an array ``(C, H, W)`` or ``(H, W)`` (a PIL image: channels last, moved)."""
    if isinstance(image, (torch.Tensor, np.ndarray)):
        return image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else image
    from PIL import Image

    if isinstance(image, Image.Image):
        arr = np.asarray(image.convert("RGB" if len(image.getbands()) >= 3 else "L"))
        return arr if arr.ndim == 2 else arr.transpose(2, 0, 1)
    raise ConfigError(
        f"{keyword}=: item {i} is {type(image).__name__}; expected an image (tensor, array or PIL image) or an "
        "(image, label) pair"
    )


def _from_dataset(ds, keyword: str) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """Stack a Dataset's items (module docstring) into images and labels."""
    try:
        n = len(ds)
    except TypeError:
        raise ConfigError(
            f"{keyword}=: a {type(ds).__name__} without a length (an IterableDataset?); expected a map-style Dataset "
            "(__len__ and __getitem__)"
        ) from None
    if n < 1:
        raise ConfigError(f"{keyword}=: an empty {type(ds).__name__}; expected at least one image")
    images, labels = [], []
    for i in range(n):
        item = ds[i]
        pair = isinstance(item, (tuple, list))
        if pair and len(item) < 1:
            raise ConfigError(f"{keyword}=: item {i} is empty; expected an image or an (image, label) pair")
        images.append(_item_image(item[0] if pair else item, keyword, i))
        labels.append(_item_label(item[1], keyword, i) if pair and len(item) > 1 else None)
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        raise ConfigError(f"{keyword}=: items of different shapes {sorted(shapes)[:3]}; expected one image shape")
    if any(label is None for label in labels) and not all(label is None for label in labels):
        raise ConfigError(f"{keyword}=: some items have a label and some not; expected (image, label) for all")
    stacked = _images(torch.from_numpy(np.stack(images)), keyword, item="items stacked to ")
    y = None if labels[0] is None else _labels(np.asarray(labels, dtype=np.int64), keyword, n)
    cls = type(ds)
    return stacked, y, f"Dataset {cls.__module__}.{cls.__qualname__}"


def _item_label(label, keyword: str, i: int) -> int:
    if isinstance(label, torch.Tensor) and label.numel() == 1 and not label.is_floating_point():
        label = label.item()
    if isinstance(label, np.ndarray) and label.size == 1 and label.dtype.kind in "iu":
        label = label.item()
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
        raise ConfigError(f"{keyword}=: item {i}'s label is {label!r}; expected an integer class label")
    return int(label)


# splits ------------------------------------------------------------------------------------------------------
def digest(images: torch.Tensor, labels: torch.Tensor | None) -> str:
    """Hex SHA-256 of a split: its shape, its float32 pixels and its int64 labels (if any)."""
    h = hashlib.sha256(repr(tuple(images.shape)).encode())
    h.update(images.numpy().tobytes())
    h.update(b"labels" if labels is not None else b"no labels")
    if labels is not None:
        h.update(labels.numpy().tobytes())
    return h.hexdigest()


def _carve(images, labels, val_size: int | None, carve_test: bool, carve_val: bool) -> dict:
    """The splits carved from the training images (module docstring): ``{split: (images, labels)}``."""
    out = {}
    n = len(images)
    if carve_test:
        perm = np.random.default_rng(FIXED_SPLIT_SEED).permutation(n)
        te, tr = torch.from_numpy(perm[: max(1, n // 10)]), torch.from_numpy(np.sort(perm[max(1, n // 10) :]))
        out["test"] = (images[te], None if labels is None else labels[te])
        images, labels = images[tr], None if labels is None else labels[tr]
    if carve_val:
        m = len(images)
        size = max(1, m // 10) if val_size is None else int(val_size)
        if val_size is None and m < 2:
            raise ConfigError(
                f"{option('data')}: {n} image(s); expected at least {3 if carve_test else 2} to carve the "
                f"{'test and validation splits' if carve_test else 'validation split'} from (or give "
                f"{'val_data= and test_data=' if carve_test else 'val_data='})"
            )
        if not 0 <= size < m:
            raise ConfigError(
                f"{option('val_size', size)}: expected 0 <= val_size < {m} (the training images left after the "
                "test split)"
            )
        out["val"] = (images[m - size :], None if labels is None else labels[m - size :])
        images, labels = images[: m - size], None if labels is None else labels[: m - size]
    if len(images) < 1:
        raise ConfigError(f"{option('data')}: {n} image(s); expected enough to carve the missing splits from")
    out["train"] = (images, labels)
    return out


def build(data, val_data=None, test_data=None, val_size: int | None = None) -> MemoryData:
    """The splits of ``vaelab.train(data=..., val_data=..., test_data=...)``, checked, carved and registered.

    Args:
        data: the training images (module docstring for what is accepted). val_data, test_data: the other splits
            (None: carved from ``data``). val_size: validation images carved when ``val_data`` is None.

    Returns:
        The registered ``MemoryData`` (keep a reference to it: the registry holds it weakly).

    Raises:
        ConfigError: a bad value (naming its keyword), splits of different image shapes, ``val_size`` with
            ``val_data``.
    """
    if val_data is not None and val_size is not None:
        raise ConfigError(f"{option('val_size', val_size)}: only when val_data is not given (it is carved from data)")
    given = {"train": data, "val": val_data, "test": test_data}
    read = {s: images_from(v, SPLIT_KEYWORDS[s]) for s, v in given.items() if v is not None}
    images, labels, source = read["train"]
    splits = _carve(images, labels, val_size, "test" not in read, "val" not in read)
    splits.update({s: (x, y) for s, (x, y, _) in read.items() if s != "train"})
    _same_shape(splits)
    carved = sorted(s for s in ("val", "test") if s not in read)
    return register(splits, source, carved)


def _same_shape(splits: dict) -> None:
    shape = tuple(splits["train"][0].shape[1:])
    for split, (x, _) in splits.items():
        if tuple(x.shape[1:]) != shape:
            raise ConfigError(
                f"{SPLIT_KEYWORDS[split]}=: images of shape {tuple(x.shape[1:])}; expected {shape} as in data="
            )


def register(splits: dict, source: str, carved: list[str]) -> MemoryData:
    """Register splits ``{split: (images, labels)}`` under their digest; returns the (possibly existing, then
    completed) ``MemoryData``."""
    digests = {s: digest(x, y) for s, (x, y) in splits.items()}
    key = PREFIX + hashlib.sha256(" ".join(digests[s] for s in ("train", "val", "test")).encode()).hexdigest()[:16]
    record = {
        "source": source,
        "carved": carved,
        "splits": {
            s: {"shape": list(x.shape), "labels": y is not None, "sha256": digests[s]} for s, (x, y) in splits.items()
        },
    }
    mem = _REGISTRY.get(key) or MemoryData(key, {}, record)
    for split, (x, y) in splits.items():
        mem.splits[split] = ImageDataset(x, y, key, split, {"memory": record})
    _REGISTRY[key] = mem
    return mem


def restore(name: str, record: dict, data=None, val_data=None, test_data=None) -> MemoryData:
    """Register again the splits of a run trained on in-memory data (``vaelab.load_run(path, data=...)``), each
    checked against the digest ``config.json`` recorded.

    Args:
        name: the recorded dataset name. record: the recorded ``dataset["memory"]``. data, val_data, test_data:
            what was given (as for ``build``); a split that was carved comes from ``data``.

    Returns:
        The registered ``MemoryData`` (keep a reference to it).

    Raises:
        ConfigError: a split that differs from the recorded one, or one given on its own that was carved.
    """
    carved = set(record.get("carved", ()))
    given = {"train": data, "val": val_data, "test": test_data}
    for split in carved:
        if given[split] is not None:
            raise ConfigError(
                f"{SPLIT_KEYWORDS[split]}=: this run's {split} split was carved from its training images; give "
                "data= (the same training images) instead"
            )
    splits = {}
    if data is not None:
        images, labels, _ = images_from(data, "data")
        n_val = record["splits"].get("val", {}).get("shape", [1])[0]
        splits = _carve(images, labels, n_val, "test" in carved, "val" in carved)
    for split in ("val", "test"):
        if given[split] is not None:
            x, y, _ = images_from(given[split], SPLIT_KEYWORDS[split])
            splits[split] = (x, y)
    for split, (x, y) in splits.items():
        want = record["splits"].get(split, {}).get("sha256")
        if digest(x, y) != want:
            keyword = SPLIT_KEYWORDS[split] if given[split] is not None else "data"  # a carved split: from data=
            what = f"{split} images" if keyword != "data" else "training images"
            raise ConfigError(
                f"{keyword}=: not the {what} this run used (SHA-256 of its {split} split "
                f"{digest(x, y)[:12]}..., recorded {str(want)[:12]}...)"
            )
    mem = _REGISTRY.get(name) or MemoryData(name, {}, record)
    for split, (x, y) in splits.items():
        mem.splits[split] = ImageDataset(x, y, name, split, {"memory": record})
    _REGISTRY[name] = mem
    return mem


def lookup(name: str, split: str):
    """The registered split ``split`` (``train``, ``val``, ``test`` or ``train-full``) of the in-memory dataset
    ``name``, an ``ImageDataset``.

    Raises:
        DatasetError: the data is not registered in this process (one line saying how to give it again).
    """
    mem = _REGISTRY.get(name)
    parts = ("train", "val") if split == "train-full" else (split,)
    if mem is None or any(p not in mem.splits for p in parts):
        need = "data=" if mem is None or "train" in parts else f"{SPLIT_KEYWORDS[parts[0]]}= or data="
        raise DatasetError(
            f"dataset {name}: the run was trained on images given from Python (vaelab.train(data=...)), which are "
            f"not loaded in this process; give them again: vaelab.load_run(RUN, {need}...), or "
            f"vaelab.train(..., resume=True, data=...)"
        )
    if len(parts) == 1:
        return mem.splits[split]
    train, val = (mem.splits[p] for p in parts)
    labels = None if train.labels is None or val.labels is None else torch.cat([train.labels, val.labels])
    return ImageDataset(torch.cat([train.images, val.images]), labels, name, split, train.info)


def loaded(name: str) -> MemoryData | None:
    """The registered ``MemoryData`` of dataset ``name``, or None when it is not loaded in this process."""
    return _REGISTRY.get(name)


def image_shape(name: str) -> tuple[int, int, int]:
    """``(C, H, W)`` of the registered dataset ``name`` (``DatasetError`` if it is not registered)."""
    mem = _REGISTRY.get(name)
    if mem is None:
        lookup(name, "train")  # raises the one-line DatasetError
    return mem.image_shape


__all__ = ["PREFIX", "MemoryData", "build", "digest", "image_shape", "images_from", "is_memory_name", "loaded",
           "lookup", "register", "restore"]  # fmt: skip
