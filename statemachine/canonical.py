"""Canonical JSON (RFC 8785) and sha256: the exact bytes every hash in a log is taken over."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import rfc8785

# rfc8785 is pure Python and was most of the time a replay takes (each line is serialised again
# to prove it canonical). For the values a log holds (strings, safe integers, booleans, null,
# lists and objects with string keys) RFC 8785 is exactly what the C json encoder writes with
# sorted keys, no spaces and no ASCII escaping: both escape the same characters the same way
# (`"`, `\`, \b \f \n \r \t, other controls as lowercase \u00xx). Keys sort by UTF-16 code
# units in RFC 8785 and by code points in Python; the two orders differ only when a key holds a
# character beyond U+FFFF, so output with any 4-byte UTF-8 sequence goes to rfc8785, as does
# every value outside that domain (floats, big integers, non-string keys, subclasses), where
# rfc8785 decides or refuses. tests/unit/test_canonical.py checks the two agree.
_ENCODE = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode
_FOUR_BYTE_UTF8 = re.compile(rb"[\xf0-\xf4]")
_INT_MAX = 2**53 - 1
_STR_ONLY = {str}


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON of a JSON value."""
    if _plain(value):
        try:
            out = _ENCODE(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 raises its own error for it
            pass
        else:
            if _FOUR_BYTE_UTF8.search(out) is None:
                return out
    return bytes(rfc8785.dumps(value))


def _plain(value: Any) -> bool:
    """Whether `value` holds only what the fast path writes exactly as RFC 8785 does."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_INT_MAX <= item <= _INT_MAX:
                continue
            return False
        if kind is dict:
            if item and set(map(type, item)) != _STR_ONLY:
                return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        else:
            return False
    return True


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
