"""The array building blocks of the sales generator: exact product choice, hashing, and CSV text from tokens."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retail_etl.sample.csv_bytes import constant, digits, gather, rows_text, token_table
from retail_etl.sample.sales import PRODUCT, SEGMENT, ProductChoice, uniform

weights = st.lists(
    st.one_of(st.floats(1e-12, 1e-6), st.floats(1e-6, 1.0)),  # slow movers' slivers beside ordinary shares
    min_size=1,
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(weights, st.lists(st.integers(0, 2**53 - 1), min_size=1, max_size=200))
def test_product_choice_is_exactly_searchsorted(shares: list[float], draws: list[int]) -> None:
    w = np.array(shares)
    starts = (np.cumsum(w) - w) / w.sum()
    # draws as the hash makes them (multiples of 2**-53), plus every share's own start: the edge cases
    u = np.concatenate([np.array(draws, dtype=np.float64) / 2**53, starts, np.nextafter(starts, 0)])
    u = u[(u >= 0) & (u < 1)]
    expected = np.searchsorted(starts, u, "right") - 1
    assert np.array_equal(ProductChoice(starts)(u), expected)


def test_uniform_draws_are_pure_functions_of_seed_purpose_day_and_key() -> None:
    keys = np.arange(100_000, dtype=np.int64)
    draws = uniform(5, PRODUCT, 3, keys)
    assert np.array_equal(draws, uniform(5, PRODUCT, 3, keys))
    assert draws.min() >= 0 and draws.max() < 1 and abs(draws.mean() - 0.5) < 0.01
    for other in (uniform(6, PRODUCT, 3, keys), uniform(5, SEGMENT, 3, keys), uniform(5, PRODUCT, 4, keys)):
        assert abs(np.corrcoef(draws, other)[0, 1]) < 0.02


def test_rows_text_joins_tokens_without_their_padding() -> None:
    names = token_table(["Ada", "", "Bartholomew"])
    numbers = np.array([7, 42, 1234567], dtype=np.int64)
    text = rows_text([digits(numbers, 7), constant(",", 3), gather(names, np.array([2, 0, 1])), constant("\n", 3)])
    assert text == b"0000007,Bartholomew\n0000042,Ada\n1234567,\n"


def test_digits_and_tokens_refuse_what_they_cannot_write() -> None:
    with pytest.raises(ValueError, match="7 digits"):
        digits(np.array([10_000_000]), 7)
    with pytest.raises(ValueError, match="7 digits"):
        digits(np.array([-1]), 7)
    with pytest.raises(ValueError, match="NUL"):
        token_table(["a\0b"])
