"""``sim.arrow``: numpy columns to Arrow and back without pyarrow's pandas converters,
giving what ``pa.array(values, from_pandas=True)`` gives (missing values as nulls)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sim.arrow import numbers, to_arrow

COLUMNS = {
    "floats with NaN": np.array([1.5, np.nan, -0.0, np.inf, np.nan]),
    "floats, none missing": np.linspace(0, 1, 17),
    "int8": np.array([0, 1, 2, -1], dtype=np.int8),
    "int64": np.arange(-3, 70, dtype=np.int64),
    "bool": np.array([True, False, True, True, False, False, True, False, True]),
    "text with None": np.array([None, "russia", None, "ukraine", ""], dtype=object),
    "text, none missing": np.array(["a", "é", "long " * 30], dtype=object),
    "a label (numpy text)": np.full(4, "pressure=0.5"),
    "empty floats": np.zeros(0),
    "empty text": np.zeros(0, dtype=object),
}


@pytest.mark.parametrize("name", COLUMNS)
def test_a_column_is_what_pyarrow_makes_from_pandas(name):
    values = COLUMNS[name]
    text = values.dtype == object or values.dtype.kind == "U"
    expected = pa.array(values, type=pa.large_string() if text else None, from_pandas=True)
    made = to_arrow(values)
    made.validate(full=True)
    assert made.type == expected.type and made.null_count == expected.null_count
    assert made.equals(expected)


def test_numbers_read_back_what_was_written_whatever_the_chunks_and_offsets():
    values = np.arange(10, dtype=np.float64) * 1.5
    whole = to_arrow(values)
    chunked = pa.chunked_array([whole.slice(0, 3), whole.slice(3, 4), whole.slice(7)])
    assert np.array_equal(numbers(chunked), values)
    assert np.array_equal(numbers(whole.slice(2, 5)), values[2:7])
    assert numbers(to_arrow(np.arange(4, dtype=np.int8))).dtype == np.int8


def test_what_it_does_not_convert_it_says():
    with pytest.raises(TypeError, match="no Arrow column for numpy complex128"):
        to_arrow(np.zeros(2, dtype=complex))
    with pytest.raises(ValueError, match="1 missing values"):
        numbers(to_arrow(np.array([1.0, np.nan])))
    with pytest.raises(TypeError, match="no numpy column for Arrow bool"):
        numbers(to_arrow(np.array([True])))
