"""`python -m sample_cext.selftest`: check that the C function agrees with the Python one."""

from __future__ import annotations

import sys

from sample_cext import fnv1a, fnv1a_py

SAMPLES = [b"", b"a", b"hello", bytes(range(256))]


def main() -> int:
    for sample in SAMPLES:
        if fnv1a(sample) != fnv1a_py(sample):
            print(f"mismatch for {sample!r}", file=sys.stderr)
            return 1
    print(f"sample_cext selftest ok ({len(SAMPLES)} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
