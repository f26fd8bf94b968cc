"""One image as uint8 ``(C, H, W)``: the preprocessing shared by image folders, the emoji sets and CelebA.

Steps, in this order (``prepare``):

1. EXIF orientation applied (``PIL.ImageOps.exif_transpose``);
2. 16-bit grey scaled to 8 bits (value / 257, rounded);
3. transparency composited over opaque white (``PIL.Image.alpha_composite``), so RGBA emoji become RGB on white;
4. converted to grey (``L``, 1 channel) or ``RGB`` (3 channels);
5. an optional centre crop of ``crop = (h, w)`` pixels (top-left corner at ``round((H - h) / 2)``,
   ``round((W - w) / 2)``, as torchvision's ``CenterCrop``);
6. resized to ``size = (H, W)`` with Pillow's bilinear filter, which is antialiased when shrinking (the filter
   widens with the scale), as torchvision's ``Resize`` does on PIL images: the width first (a resize of the rows
   alone), then the height. Pillow's own two-axis resize does the same passes but picks their order itself (its
   8-bit intermediate makes the two orders differ by one level in a few pixels); fixing the order makes the result
   one definition, which the explorer's JavaScript (``vaelab/web/prepare.js``) reproduces exactly. For square
   images shrunk to a square (the emoji sets, CelebA's crop) Pillow's own order is this one.

Before anything is decoded, ``check_pixels`` reads the size from the header (``PIL.Image.open`` is lazy) and
refuses images over ``MAX_DECODE_PIXELS``. Only a JPEG over that limit is first asked to decode at a reduced scale
that still gives at least the target size (``Image.draft``: libjpeg's DCT scaling by 1/2, 1/4 or 1/8), so a
48-megapixel photo costs the memory of its reduced copy (its pixels then differ slightly from a full decode; every
image under the limit is decoded in full). Decoding a 12,000 x 12,000 PNG would need 432 MB for its RGB pixels
alone before any conversion; it is refused from its header instead.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

MAX_DECODE_PIXELS = 6000 * 6000
"""Largest image decoded (pixels, after JPEG draft scaling): 36 MP keeps the decode and its conversions (RGBA,
composite, RGB) under about 400 MB."""


class ImageTooLarge(ValueError):
    """An image whose header declares more than ``MAX_DECODE_PIXELS`` pixels (nothing was decoded)."""


def open_image(path: str | Path):
    """``PIL.Image.open`` (lazy: reads the header only) with decompression-bomb warnings silenced (oversized images
    are refused by ``check_pixels`` before decoding)."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)


def check_pixels(im, size: tuple[int, int] | None = None, crop: tuple[int, int] | None = None) -> None:
    """Refuse an image too large to decode, from its header; a JPEG over the limit is first asked for a reduced
    decode (``Image.draft``) of at least ``size``.

    Args:
        im: a lazily opened ``PIL.Image`` (nothing decoded yet).
        size: the target ``(H, W)``; None: no draft scaling.
        crop: a centre crop ``(h, w)`` taken before resizing (draft scaling is then skipped: the crop is in the
            full image's pixels).

    Raises:
        ImageTooLarge: the header declares more than ``MAX_DECODE_PIXELS`` pixels (after any draft scaling).
    """
    w, h = im.size
    if w * h > MAX_DECODE_PIXELS and size is not None and crop is None and im.format == "JPEG":
        im.draft(im.mode, (size[1], size[0]))  # keeps at least (W, H); updates im.size without decoding
        w, h = im.size
    if w * h > MAX_DECODE_PIXELS:
        raise ImageTooLarge(
            f"{w}x{h} pixels declared in its header, more than the {MAX_DECODE_PIXELS:,} decoded at most "
            "(MAX_DECODE_PIXELS); not decoded"
        )


def _centre_crop(img, crop: tuple[int, int]):
    ch, cw = crop
    w, h = img.size
    if ch > h or cw > w:
        raise ValueError(f"{w}x{h} image smaller than the {cw}x{ch} centre crop")
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return img.crop((left, top, left + cw, top + ch))


def prepare(im, size: tuple[int, int], channels: int, crop: tuple[int, int] | None = None) -> np.ndarray:
    """A decoded or lazily opened ``PIL.Image`` as uint8 ``(channels, H, W)`` (module docstring for the steps).

    Args:
        im: the image (decoded here if it is not yet; call ``check_pixels`` first for files).
        size: ``(H, W)`` in pixels.
        channels: 1 (grey) or 3 (RGB).
        crop: a centre crop ``(h, w)`` before resizing, or None.

    Returns:
        uint8 array ``(channels, H, W)``.

    Raises:
        OSError, ValueError, SyntaxError, EOFError: Pillow cannot decode the image; ValueError: it is smaller
            than ``crop``.
    """
    from PIL import Image, ImageOps

    h, w = size
    im.load()
    img = ImageOps.exif_transpose(im)
    if img.mode.startswith("I;16"):  # 16-bit grey: scale 0..65535 to 0..255
        img = Image.fromarray((np.asarray(img, np.float64) / 257.0).round().clip(0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    img = img.convert("L" if channels == 1 else "RGB")
    if crop is not None:
        img = _centre_crop(img, crop)
    if img.width != w:  # the rows first, then the columns (module docstring, step 6)
        img = img.resize((w, img.height), Image.Resampling.BILINEAR)
    if img.height != h:
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def decode_file(path: str | Path, size: tuple[int, int], channels: int, crop: tuple[int, int] | None = None):
    """One image file as uint8 ``(channels, H, W)``: header checked (``check_pixels``), then ``prepare``.

    Raises:
        ImageTooLarge: the header declares too many pixels (nothing decoded).
        OSError, ValueError, SyntaxError, EOFError, PIL.Image.DecompressionBombError: Pillow cannot read it.
    """
    with open_image(path) as im:
        check_pixels(im, size, crop)
        return prepare(im, size, channels, crop)
