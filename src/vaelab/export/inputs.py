"""What the explorer page needs to take inputs other than a drawing: test images to pick, the preprocessing of an
image file, and attribute vectors for its sliders (``vaelab.export.onnx.export_model`` writes them).

    pick.bin       the first ``PICK_N`` test images as uint8 ``(n, C, H, W)`` (pixels x 255, rounded): the page's
                   "pick a test image" thumbnails, encoded exactly as the test codes were
    meta.json      ``pick`` (file, shape), ``preprocess`` (the ``vaelab.data.images.prepare`` arguments of the run's
                   data: ``size`` [H, W], ``channels``, ``crop`` [h, w] or null; the page's prepare.js repeats its
                   steps on a chosen or dropped file) and ``attributes`` (one entry per contrast of
                   ``vaelab.evaluate.attribute_vectors.default_contrasts``: ``name``, ``vector`` (D,), the image counts
                   of its two groups), computed from the exported test codes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vaelab.core.io import atomic_write_bytes
from vaelab.data.celeba import CROP
from vaelab.evaluate.attribute_vectors import LABELS, attribute_vectors, default_contrasts

PICK_N = 48
"""Test images offered for picking (48 x 64 x 64 x 3 bytes = 590 kB for the emoji faces)."""
PICK_FILE = "pick.bin"


def write_pick(images: torch.Tensor, out: Path, n: int = PICK_N) -> dict:
    """Write the first ``n`` test images as uint8 into ``out/pick.bin``.

    Args:
        images: ``(N, C, H, W)`` in [0, 1]. out: the export folder. n: how many (at most N).

    Returns:
        ``meta.json``'s ``pick`` entry: ``{"file", "dtype": "uint8", "shape": [n, C, H, W], "what"}``.
    """
    pick = (images[:n].clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    atomic_write_bytes(Path(out) / PICK_FILE, np.ascontiguousarray(pick).tobytes())
    return {
        "file": PICK_FILE,
        "dtype": "uint8",
        "shape": list(pick.shape),
        "what": "the first test images, pixels x 255 (the page divides by 255)",
    }


def preprocess_meta(dataset: str | None, image_shape) -> dict:
    """The ``vaelab.data.images.prepare`` arguments that make an image file into this run's input.

    Args:
        dataset: the run's dataset name (CelebA's images are centre-cropped first; ``None`` for none known).
        image_shape: ``(C, H, W)``.

    Returns:
        ``{"size": [H, W], "channels": C, "crop": [h, w] or None, "what"}``.
    """
    crop = None
    if dataset == "celeba":
        crop = list(CROP)
    c, h, w = (int(v) for v in image_shape)
    what = "vaelab.data.images.prepare(image, size, channels, crop): EXIF orientation, alpha over white, centre crop"
    return {"size": [h, w], "channels": c, "crop": crop, "what": what + ", Pillow's bilinear resize"}


def attribute_meta(codes: np.ndarray, labels, attributes: dict | None, info: dict | None) -> list[dict]:
    """The attribute vectors of the exported test codes, for the page's attribute sliders.

    Args:
        codes: ``(N, D)`` test codes. labels: ``(N,)`` labels or None. attributes: ``{name: (N,)}`` or None.
        info: the dataset's ``info`` (``attributes`` value names, ``classes``), or None.

    Returns:
        ``[{"name", "attribute", "n_positive", "n_negative", "vector": [D floats]}]`` (see ``attribute_vectors``).
    """
    info = info or {}
    table = {k: np.asarray(v) for k, v in (attributes or {}).items()}
    classes = info.get("classes")
    if labels is not None:
        table[LABELS] = np.asarray(labels)
        if classes is None:
            classes = [str(c) for c in range(int(np.max(table[LABELS])) + 1)]
    contrasts = default_contrasts(info.get("attributes") or {}, classes)
    return [
        {
            "name": v["name"],
            "attribute": v["attribute"],
            "n_positive": v["n_positive"],
            "n_negative": v["n_negative"],
            "vector": np.round(v["vector"], 6).tolist(),
        }
        for v in attribute_vectors(codes, table, contrasts)
    ]
