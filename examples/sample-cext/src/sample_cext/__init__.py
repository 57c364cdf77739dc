"""sample-cext: a C function (`fnv1a`) and its pure-Python twin (`fnv1a_py`)."""

from sample_cext._speedups import fnv1a
from sample_cext.pure import describe, fnv1a_py

__all__ = ["describe", "fnv1a", "fnv1a_py"]
