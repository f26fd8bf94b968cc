"""Reader for the IDX format of the MNIST files (LeCun et al., http://yann.lecun.com/exdb/mnist/).

An IDX file is: two zero bytes, a dtype code, the number of dimensions ``d``, then ``d`` big-endian uint32 sizes,
then the payload in C order. Files may be gzip-compressed. Every check failure raises ``DatasetError`` naming the
file and what was expected.

The reader never trusts the payload: it reads the header first (incrementally, from the gzip stream for ``.gz``
files), computes the declared payload size with Python integers, checks it against the caller's expected shape,
against ``MAX_IDX_BYTES`` and the memory available, and, for gzip files, against the uncompressed size the gzip
trailer records (ISIZE), all before decompressing the payload. It then reads exactly the declared number of bytes
into one buffer, in chunks, and checks that nothing follows. A gzip bomb therefore costs at most its declared size
plus ``CHUNK`` bytes of memory.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vaelab.core.errors import DatasetError
from vaelab.core.memory import available_memory
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
MAX_IDX_BYTES = 16 * 2**30  # largest payload read at all (16 GiB), whatever the memory available
CHUNK = 1 << 20  # bytes read (or decompressed) per step
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_MIN_SIZE = 18  # a 10-byte gzip header and an 8-byte trailer (CRC-32, ISIZE) at the least


@dataclass(frozen=True)
class IdxHeader:
    """The header of an IDX file.

    Attributes:
        code: the IDX dtype code (0x08 = uint8, ...).
        dims: the declared sizes, outermost first (Python ints, each < 2**32).
    """

    code: int
    dims: tuple[int, ...]

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype as stored (big-endian for multi-byte types)."""
        return IDX_DTYPES[self.code]

    @property
    def header_bytes(self) -> int:
        """Bytes of the header: 4 for the magic number, 4 per dimension."""
        return 4 + 4 * len(self.dims)

    @property
    def payload_bytes(self) -> int:
        """Bytes of payload the header declares (exact Python int: never overflows)."""
        return math.prod(self.dims) * self.dtype.itemsize


def _dims_str(dims) -> str:
    return "x".join("N" if d is None else str(d) for d in dims)


class _Stream:
    """A raw or gzip IDX file opened for bounded reads; read errors become ``DatasetError``."""

    def __init__(self, path: Path):
        self.path = path
        self.file: BinaryIO = open_data_file(path, "an IDX file (raw or gzip)")
        try:
            self.size = os.fstat(self.file.fileno()).st_size
            self.gzip = self.file.read(2) == _GZIP_MAGIC
            self.isize = None
            if self.gzip:
                if self.size < _GZIP_MIN_SIZE:
                    raise DatasetError(
                        f"{path}: cannot decompress (gzip file of {self.size} bytes, shorter than the "
                        f"{_GZIP_MIN_SIZE}-byte minimum); expected a complete gzip IDX file"
                    )
                self.file.seek(self.size - 4)
                self.isize = struct.unpack("<I", self.file.read(4))[0]  # uncompressed size mod 2**32
            self.file.seek(0)
            self.stream: BinaryIO = gzip.GzipFile(fileobj=self.file, mode="rb") if self.gzip else self.file
        except OSError as exc:
            self.file.close()
            raise DatasetError(f"{path}: cannot read the file ({exc}); expected an IDX file (raw or gzip)") from exc
        except BaseException:
            self.file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.stream is not self.file:
            self.stream.close()
        self.file.close()

    def _fail(self, exc: BaseException):
        if self.gzip:
            return DatasetError(f"{self.path}: cannot decompress ({exc}); expected a complete gzip IDX file")
        return DatasetError(f"{self.path}: cannot read the file ({exc}); expected an IDX file")

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the end of the data)."""
        out = bytearray()
        try:
            while len(out) < n:
                block = self.stream.read(min(CHUNK, n - len(out)))
                if not block:
                    break
                out += block
        except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip stream, I/O error
            raise self._fail(exc) from exc
        return bytes(out)

    def readinto(self, buf: memoryview) -> int:
        """Fill ``buf`` in ``CHUNK`` steps; returns the bytes read (fewer than ``len(buf)`` only at the end)."""
        got = 0
        try:
            while got < len(buf):
                k = self.stream.readinto(buf[got : got + CHUNK])
                if not k:
                    break
                got += k
        except (OSError, EOFError, zlib.error) as exc:
            raise self._fail(exc) from exc
        return got

    def count(self, limit: int) -> int:
        """Bytes left in the data, counted (not kept) up to ``limit``; stops quietly at a decompression error, since
        the caller is already reporting trailing data (e.g. a gzip trailer that no longer agrees)."""
        n = 0
        try:
            while n < limit:
                block = self.stream.read1(min(CHUNK, limit - n))
                if not block:
                    break
                n += len(block)
        except (OSError, EOFError, zlib.error):
            pass
        return n


def _read_header(
    s: _Stream,
    expected_ndim: int | None,
    expected_dtype: int | None,
    expected_shape: tuple[int | None, ...] | None,
    max_bytes: int | None,
) -> IdxHeader:
    """Read and check the header of an open IDX stream (see ``read_idx``); the stream is left at the payload."""
    path = s.path
    magic = s.read(4)
    if len(magic) < 4:
        raise DatasetError(f"{path}: {len(magic)} bytes; expected at least a 4-byte IDX magic number")
    zero, code, ndim = magic[:2], magic[2], magic[3]
    if zero != b"\x00\x00" or code not in IDX_DTYPES or ndim == 0:
        raise DatasetError(
            f"{path}: bad IDX magic number 0x{magic.hex()}; expected 0x0000TTDD "
            f"(TT a dtype code in {sorted(hex(c) for c in IDX_DTYPES)}, DD >= 1 dimensions)"
        )
    if expected_dtype is not None and code != expected_dtype:
        raise DatasetError(f"{path}: IDX dtype code 0x{code:02x}; expected 0x{expected_dtype:02x}")
    for want in (expected_ndim, None if expected_shape is None else len(expected_shape)):
        if want is not None and ndim != want:
            raise DatasetError(f"{path}: IDX file has {ndim} dimensions; expected {want}")
    raw_dims = s.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DatasetError(f"{path}: truncated header ({4 + len(raw_dims)} bytes; expected {4 + 4 * ndim})")
    header = IdxHeader(code, struct.unpack(f">{ndim}I", raw_dims))
    dims = header.dims
    if expected_shape is not None and any(e is not None and e != d for e, d in zip(expected_shape, dims, strict=True)):
        raise DatasetError(f"{path}: IDX dims {_dims_str(dims)}; expected {_dims_str(expected_shape)}")
    payload = header.payload_bytes
    limit, why = MAX_IDX_BYTES, f"the {MAX_IDX_BYTES}-byte maximum (MAX_IDX_BYTES)"
    if max_bytes is not None:
        limit, why = max_bytes, f"the {max_bytes}-byte maximum asked for"
    else:
        avail = available_memory()
        if avail is not None and avail < limit:
            limit, why = avail, f"the {avail} bytes of memory available"
    if payload > limit:
        raise DatasetError(
            f"{path}: header declares {payload} bytes of payload (dims {_dims_str(dims)}), more than {why}; "
            "expected a payload that fits in memory (corrupt header?)"
        )
    if s.gzip:
        total = header.header_bytes + payload
        if s.isize != total % 2**32:
            raise DatasetError(
                f"{path}: cannot decompress safely: the gzip trailer records {s.isize} uncompressed bytes (ISIZE, "
                f"mod 2**32) but the IDX header declares {total} (dims {_dims_str(dims)}); expected them equal "
                "(file truncated or corrupt, or not a single-member gzip)"
            )
    elif s.size - header.header_bytes != payload:  # raw file: its size says it all
        actual = s.size - header.header_bytes
        raise DatasetError(
            f"{path}: payload is {actual} bytes; expected {payload} for dims {_dims_str(dims)}"
            + (" (file truncated)" if actual < payload else " (trailing garbage)")
        )
    return header


def read_idx_header(
    path: str | Path,
    expected_ndim: int | None = None,
    expected_dtype: int | None = 0x08,
    expected_shape: tuple[int | None, ...] | None = None,
    max_bytes: int | None = None,
) -> IdxHeader:
    """Read and check only the header of an IDX file (raw or gzip); decompresses a few bytes at most.

    Args and Raises: as ``read_idx`` (the payload itself is not read, so a truncated payload is only noticed
    here for raw files, or through the gzip trailer's ISIZE).

    Returns:
        The ``IdxHeader`` (dtype code and dims).
    """
    path = Path(path)
    with _Stream(path) as s:
        return _read_header(s, expected_ndim, expected_dtype, expected_shape, max_bytes)


def read_idx(
    path: str | Path,
    expected_ndim: int | None = None,
    expected_dtype: int | None = 0x08,
    expected_shape: tuple[int | None, ...] | None = None,
    max_bytes: int | None = None,
) -> np.ndarray:
    """Read an IDX file (raw or gzip) and return its array.

    The header is checked before the payload is read; memory used is the declared payload plus ``CHUNK`` bytes,
    whatever the file holds.

    Args:
        path: the file.
        expected_ndim: number of dimensions the caller needs (3 for images, 1 for labels), or None for any.
        expected_dtype: the IDX dtype code required (0x08 = uint8 for MNIST), or None for any.
        expected_shape: the dims required, None for any size of that axis, e.g. ``(None, 28, 28)`` for MNIST
            images (implies ``expected_ndim``); None for any shape.
        max_bytes: largest payload accepted, in bytes; default the smaller of ``MAX_IDX_BYTES`` (16 GiB) and the
            memory available (``available_memory()``).

    Returns:
        ``np.ndarray`` with the header's shape and dtype, native byte order.

    Raises:
        DatasetError: the path is missing, a directory, a dangling symbolic link or unreadable; wrong magic,
            unexpected dtype, rank or shape; a declared payload larger than ``max_bytes``; a gzip trailer (ISIZE)
            disagreeing with the header; a payload shorter (truncated) or longer (trailing garbage) than the header
            declares; a truncated or corrupt gzip stream.
    """
    path = Path(path)
    with _Stream(path) as s:
        header = _read_header(s, expected_ndim, expected_dtype, expected_shape, max_bytes)
        expected = header.payload_bytes
        buf = np.empty(expected, dtype=np.uint8)
        got = s.readinto(memoryview(buf))
        if got < expected:
            raise DatasetError(
                f"{path}: payload is {got} bytes; expected {expected} for dims {_dims_str(header.dims)} "
                "(file truncated)"
            )
        if s.read(1):  # something follows: count it, up to one chunk in all (a gzip bomb stops here)
            extra = 1 + s.count(CHUNK - 1)
            raise DatasetError(
                f"{path}: payload is {'at least ' if extra == CHUNK else ''}{expected + extra} bytes; expected "
                f"{expected} for dims {_dims_str(header.dims)} (trailing garbage)"
            )
    arr = buf.view(header.dtype).reshape(header.dims)
    if header.dtype.byteorder not in ("=", "|"):
        arr = arr.byteswap(inplace=True).view(header.dtype.newbyteorder("="))
    return arr


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

    Both headers are checked (image size, counts) before either payload is read.

    Raises:
        DatasetError: any ``read_idx`` failure, a count of images differing from the count of labels, or images
            not of ``image_size`` (checked from the header).
    """
    shape = (None, *image_size) if image_size is not None else (None, None, None)
    nx = read_idx_header(images_path, expected_shape=shape).dims[0]
    ny = read_idx_header(labels_path, expected_ndim=1).dims[0]
    if nx != ny:
        raise DatasetError(f"{images_path}: {nx} images but {labels_path} has {ny} labels")
    x = read_idx(images_path, expected_shape=(nx, *shape[1:]))
    y = read_idx(labels_path, expected_shape=(ny,))
    return x, y
