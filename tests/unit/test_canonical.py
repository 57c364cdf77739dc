"""The fast canonical form equals rfc8785's on every JSON value, and refuses what it refuses."""

from __future__ import annotations

import math
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from statemachine.canonical import canonical

# Text from every plane, controls, quotes, backslashes, lone surrogates excluded by the
# strategy (they cannot be UTF-8; a separate test covers them), astral characters included.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
SCALARS = (
    st.none() | st.booleans() | TEXT
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.integers(min_value=2**53, max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)


def _both(value: Any) -> tuple[bytes | type[Exception], bytes | type[Exception]]:
    def run(func: Any) -> bytes | type[Exception]:
        try:
            return bytes(func(value))
        except rfc8785.CanonicalizationError as exc:
            return type(exc)
    return run(canonical), run(rfc8785.dumps)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_fast_path_agrees_with_rfc8785(value: Any) -> None:
    ours, theirs = _both(value)
    assert ours == theirs


@pytest.mark.parametrize("value", [
    {"\U0001f600": 1, "\ufb01": 2},        # UTF-16 order differs from code-point order
    {"a": "\ud800"},                        # a lone surrogate
    {1: "x"},                                # a non-string key
    [2**53], [-(2**53)],                     # outside the safe integer range
    [1.0, 1e21, 1e-7, -0.0, 5e-324],          # ES6 number forms
    {"b": [True, None, '\x00\x1f\x7f\u2028"\\'], "a": {}},
])
def test_edge_cases_agree_with_rfc8785(value: Any) -> None:
    ours, theirs = _both(value)
    assert ours == theirs


def test_nan_is_refused_like_rfc8785() -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical([math.nan])
