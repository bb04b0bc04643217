"""Numpy columns to Arrow arrays and back, without pandas.

pyarrow imports pandas (about 0.3 s) the first time it converts a numpy array
(``pa.array``, ``Array.to_numpy``: its converters ask pandas about the object first,
and read ``pandas.NaT``). A command that only writes a chunk's Parquet part or reads a
posterior needs none of it, so the few column types negsim writes and reads are built
from their buffers here (Arrow's columnar format: a validity bitmap, then the values,
or for text 64-bit offsets and UTF-8 bytes). The results are those of
``pa.array(values, from_pandas=True)`` (tested): a missing value (NaN, ``None``) is a
null, so that a query engine's sums skip it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: Arrow's type of each numpy number type negsim writes and reads.
_TYPES = {np.dtype(np.float64): pa.float64(), np.dtype(np.float32): pa.float32(),
          np.dtype(np.int64): pa.int64(), np.dtype(np.int32): pa.int32(),
          np.dtype(np.int16): pa.int16(), np.dtype(np.int8): pa.int8(),
          np.dtype(np.uint64): pa.uint64(), np.dtype(np.uint32): pa.uint32(),
          np.dtype(np.uint16): pa.uint16(), np.dtype(np.uint8): pa.uint8()}
_DTYPES = {arrow: dtype for dtype, arrow in _TYPES.items()}


def _validity(present: np.ndarray) -> tuple[pa.Buffer | None, int]:
    """The validity bitmap (least significant bit first) and the count of nulls."""
    nulls = int(present.size - np.count_nonzero(present))
    if not nulls:
        return None, 0
    return pa.py_buffer(np.packbits(present, bitorder="little")), nulls


def to_arrow(values: np.ndarray) -> pa.Array:
    """A column as an Arrow array: text (``str`` or ``None`` objects, or numpy text) as
    ``large_string``, booleans, and the number types of ``_TYPES`` (NaN as null)."""
    values = np.asarray(values)
    n = len(values)
    if values.dtype == object or values.dtype.kind == "U":
        present = np.array([v is not None and v == v for v in values.tolist()], dtype=bool)
        encoded = [str(v).encode() if here else b""
                   for v, here in zip(values.tolist(), present.tolist(), strict=True)]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        validity, nulls = _validity(present)
        return pa.Array.from_buffers(pa.large_string(), n, [
            validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))], nulls)
    if values.dtype == np.bool_:
        bits = pa.py_buffer(np.packbits(values, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), n, [None, bits], 0)
    if values.dtype not in _TYPES:
        raise TypeError(f"no Arrow column for numpy {values.dtype}")
    values = np.ascontiguousarray(values)
    validity, nulls = _validity(~np.isnan(values)) if values.dtype.kind == "f" else (None, 0)
    return pa.Array.from_buffers(_TYPES[values.dtype], n, [validity, pa.py_buffer(values)],
                                 nulls)


def numbers(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A column of numbers without nulls as a numpy array (a copy)."""
    if isinstance(column, pa.ChunkedArray):
        parts = [numbers(chunk) for chunk in column.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, _DTYPES.get(column.type))
    if column.null_count:
        raise ValueError(f"{column.null_count} missing values")
    dtype = _DTYPES.get(column.type)
    if dtype is None:
        raise TypeError(f"no numpy column for Arrow {column.type}")
    return np.frombuffer(column.buffers()[1], dtype=dtype, count=len(column),
                         offset=column.offset * dtype.itemsize).copy()
