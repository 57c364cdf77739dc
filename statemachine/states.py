"""The words of the machine: the states of a lane, in release order, and the event types.

Which event may happen in which state, where it leads, and what it must fit is the machine's
table (`statemachine/machine.py`); this module only names things.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class State(StrEnum):
    """Where a lane of a release stands. The order is the order of the release."""

    TAGGED = "tagged"
    BUILT = "built"
    ATTESTED = "attested"
    DRAFTED = "drafted"
    APPROVED = "approved"
    TEST_PUBLISHED = "test-published"
    PUBLISHED = "published"

    @property
    def rank(self) -> int:
        return ORDER.index(self)

    def __str__(self) -> str:
        return self.value


ORDER: Final = tuple(State)


class EventType(StrEnum):
    """Every kind of event a log may hold."""

    LANE_OPENED = "lane-opened"
    BUILD_STARTED = "build-started"
    FILE_RECORDED = "file-recorded"
    BUILD_FINISHED = "build-finished"
    BUILT = "built"
    ATTESTED = "attested"
    RELEASE_REQUESTED = "release-requested"
    RELEASE_RECORDED = "release-recorded"
    ASSET_UPLOAD_STARTED = "asset-upload-started"
    ASSET_UPLOADED = "asset-uploaded"
    DRAFTED = "drafted"
    APPROVED = "approved"
    UPLOAD_STARTED = "upload-started"
    UPLOAD_CONFIRMED = "upload-confirmed"
    TEST_PUBLISHED = "test-published"
    PUBLISHED = "published"

    def __str__(self) -> str:
        return self.value

    @property
    def trigger(self) -> str:
        """The name of this event as a trigger of the machine (an identifier)."""
        return self.name.lower()
