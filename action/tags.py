"""A release tag: what it points at, the version it names, and the one checkout it builds from.

One record (`TagInfo`) whichever source resolved the tag (GitHub's API, or git for a
rehearsal), one rule for the version a tag names, one check of the checked-out commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from action.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class TagInfo:
    tag: str
    commit: str
    epoch: int  # the commit's committer date: SOURCE_DATE_EPOCH


def tag_version(tag: str) -> Version:
    """The PEP 440 version a tag names (`v1.2.3`, `V1.2.3` and `1.2.3` name 1.2.3)."""
    try:
        return Version(tag.removeprefix("v").removeprefix("V"))
    except InvalidVersion:
        raise ConfigError(
            f"tag {tag!r} is not a version",
            hint="Release tags are PEP 440 versions, optionally with a leading v (v1.2.3).",
        ) from None


def check_checkout(tag: str, commit: str, checked_out: str) -> None:
    """Refuse to build from a commit that is not the tag's."""
    if checked_out.strip().lower() == commit.lower():
        return
    raise ConfigError(
        f"the job is checked out at {checked_out.strip() or 'an unknown commit'}, but tag "
        f"{tag} is commit {commit}: a release builds only from the tag's own commit "
        "(files built here would not be the tag's)",
        hint=f"Check out the tag in the workflow (actions/checkout with `ref: {tag}`), "
        "also when re-dispatching or backfilling, then re-run.",
    )
