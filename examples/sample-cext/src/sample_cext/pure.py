"""The pure-Python half: a reference implementation and a formatter."""

from __future__ import annotations


def fnv1a_py(data: bytes) -> int:
    """FNV-1a 32-bit hash, the same function the C extension implements."""
    value = 2166136261
    for byte in data:
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def describe(data: bytes) -> str:
    from sample_cext._speedups import fnv1a

    return f"{data.decode(errors='replace')}: fnv1a={fnv1a(data):#010x}"
