"""sample-pure: one small, dependency-free function."""

from __future__ import annotations

import re

__all__ = ["slugify"]


def slugify(text: str) -> str:
    """Lower-case `text` and join its runs of letters and digits with hyphens."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))
