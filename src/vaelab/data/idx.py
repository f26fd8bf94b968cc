"""Reader for the IDX format of the MNIST files (LeCun et al., http://yann.lecun.com/exdb/mnist/).

An IDX file is: two zero bytes, a dtype code, the number of dimensions ``d``, then ``d`` big-endian uint32 sizes,
then the payload in C order. Files may be gzip-compressed. Every check failure raises ``DatasetError`` naming the
file and what was expected.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from vaelab.core.errors import DatasetError
from vaelab.data.files import open_data_file

# dtype code -> numpy dtype (big-endian as stored)
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    with open_data_file(path, "an IDX file (raw or gzip)") as fh:
        try:
            head = fh.read(2)
            fh.seek(0)
            if head == b"\x1f\x8b":
                with gzip.open(fh) as gz:
                    return gz.read()
            return fh.read()
        except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip stream
            raise DatasetError(f"{path}: cannot decompress ({exc}); expected a complete gzip IDX file") from exc


def read_idx(path: str | Path, expected_ndim: int | None = None, expected_dtype: int | None = 0x08) -> np.ndarray:
    """Read an IDX file (raw or gzip) and return its array.

    Args:
        path: the file.
        expected_ndim: number of dimensions the caller needs (3 for images, 1 for labels), or None for any.
        expected_dtype: the IDX dtype code required (0x08 = uint8 for MNIST), or None for any.

    Returns:
        ``np.ndarray`` with the header's shape, native byte order.

    Raises:
        DatasetError: wrong magic, unexpected dtype or rank, payload size not matching the header, or a
            truncated / corrupt file.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DatasetError(f"{path}: {len(raw)} bytes; expected at least a 4-byte IDX magic number")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in IDX_DTYPES or ndim == 0:
        raise DatasetError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()}; expected 0x0000TTDD "
            f"(TT a dtype code in {sorted(hex(c) for c in IDX_DTYPES)}, DD >= 1 dimensions)"
        )
    if expected_dtype is not None and code != expected_dtype:
        raise DatasetError(f"{path}: IDX dtype code 0x{code:02x}; expected 0x{expected_dtype:02x}")
    if expected_ndim is not None and ndim != expected_ndim:
        raise DatasetError(f"{path}: IDX file has {ndim} dimensions; expected {expected_ndim}")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DatasetError(f"{path}: truncated header ({len(raw)} bytes; expected {header_len})")
    dims = struct.unpack(f">{ndim}I", raw[4:header_len])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    payload = len(raw) - header_len
    if payload != expected:
        raise DatasetError(
            f"{path}: payload is {payload} bytes; expected {expected} for dims {'x'.join(map(str, dims))}"
            + (" (file truncated)" if payload < expected else " (trailing garbage)")
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` (uint8) as an IDX file; gzip-compressed when ``compress`` or the name ends in ``.gz``."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.tobytes()
    if compress or (compress is None and path.suffix == ".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)


def read_idx_pair(images_path: str | Path, labels_path: str | Path, image_size: tuple[int, int] | None = (28, 28)):
    """Read an images file ``(N, H, W)`` and its labels file ``(N,)``; returns ``(images, labels)`` uint8.

    Raises:
        DatasetError: any ``read_idx`` failure, a count of images differing from the count of labels, or images
            not of ``image_size``.
    """
    x = read_idx(images_path, expected_ndim=3)
    y = read_idx(labels_path, expected_ndim=1)
    if x.shape[0] != y.shape[0]:
        raise DatasetError(f"{images_path}: {x.shape[0]} images but {labels_path} has {y.shape[0]} labels")
    if image_size is not None and tuple(x.shape[1:]) != tuple(image_size):
        raise DatasetError(
            f"{images_path}: images of {x.shape[1]}x{x.shape[2]}; expected {image_size[0]}x{image_size[1]}"
        )
    return x, y
