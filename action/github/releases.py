"""The releases of a repository: finding a tag's release, drafts, backfill drafts, publishing.

Drafts are invisible to get-release-by-tag, so a tag's release is found by listing releases.
Once a draft exists it is addressed by its id. Two or more drafts for one tag stop the run
(`DuplicateDraftsError`, with links); none is ever picked silently. A draft that this run has
just created and that lost a creation race to another run's draft (a lower id) is deleted
again at once; it is empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from github import GithubException

from action.errors import DuplicateDraftsError, ReleaseNotFoundError
from action.github.failures import HTTP_NOT_FOUND
from action.logs import get_logger
from action.stores.base import SNAPSHOT, ReleaseInfo, backfill_name

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from action.github.transport import Transport

log = get_logger("action.github")


class Releases:
    """The releases of `repository`; remembers each release's upload URL as it sees it, and
    hands `seen` the assets each answer about a release holds (a new draft's: none)."""

    def __init__(self, http: Transport, repository: str, *,
                 seen: Callable[[int, list[Mapping[str, Any]]], None]) -> None:
        self.http = http
        self.repository = repository
        self.repo = f"/repos/{repository}"
        self._upload_urls: dict[int, str] = {}
        self._seen = seen

    def _releases(self) -> list[dict[str, Any]]:
        releases = self.http.get_all(f"{self.repo}/releases")
        for data in releases:
            self._note(data)
        return releases

    def _note(self, data: Mapping[str, Any]) -> ReleaseInfo:
        release_id = int(data["id"])
        self._upload_urls[release_id] = str(data["upload_url"]).split("{", 1)[0]
        assets = data.get("assets")
        if isinstance(assets, list):
            self._seen(release_id, assets)
        return _release(data)

    def upload_url(self, release_id: int) -> str:
        if release_id not in self._upload_urls:
            self.get(release_id)
        return self._upload_urls[release_id]

    def _drafts_for(self, tag: str, *, name: str | None = None) -> list[dict[str, Any]]:
        """The drafts of `tag` (the backfill drafts only, with `name`; never them, without)."""
        return [
            r for r in self._releases()
            if r["draft"] and r["tag_name"] == tag
            and ((r.get("name") == name) if name else not _is_backfill(r))
        ]

    def find(self, tag: str) -> ReleaseInfo | None:
        """The published release of `tag`, else its single draft; several drafts: raise."""
        releases = self._releases()
        published = [r for r in releases if not r["draft"] and r["tag_name"] == tag]
        if published:
            return _release(published[0])
        drafts = [r for r in releases
                  if r["draft"] and r["tag_name"] == tag and not _is_backfill(r)]
        if len(drafts) > 1:
            raise _duplicates_error(tag, drafts)
        return _release(drafts[0]) if drafts else None

    def get(self, release_id: int) -> ReleaseInfo:
        try:
            return self._note(self.http.retried("GET", f"{self.repo}/releases/{release_id}"))
        except GithubException as exc:
            if exc.status != HTTP_NOT_FOUND:
                raise
            raise ReleaseNotFoundError(
                f"release {release_id} of {self.repository} does not exist (any more)",
                hint="It was deleted. Delete the state log's record of it by starting over "
                "with a new draft, or restore the release.",
            ) from exc

    def create_draft(self, tag: str, *, commit: str, name: str, body: str) -> ReleaseInfo:
        """Create the draft of `tag` at `commit`: never two (a lost answer is looked for
        before retrying; a race with another run is settled by the lower id)."""
        created = self._create(tag, commit=commit, name=name, body=body, backfill=False)
        return self._settle_race(tag, created, name=None)

    def find_backfill_draft(self, tag: str, lane: str) -> ReleaseInfo | None:
        existing = self._drafts_for(tag, name=backfill_name(tag, lane))
        if len(existing) > 1:
            raise _duplicates_error(f"{tag} (backfill {lane})", existing)
        return _release(existing[0]) if existing else None

    def backfill_drafts(self, tag: str) -> list[ReleaseInfo]:
        """Every backfill lane's own draft of `tag` (an immutable release's later lanes)."""
        return [_release(r) for r in self._releases()
                if r["draft"] and r["tag_name"] == tag and _is_backfill(r)]

    def ensure_backfill_draft(self, tag: str, lane: str, *, commit: str, body: str) -> ReleaseInfo:
        """The separate draft `<tag> backfill <lane>` that takes a backfill lane's files and
        log when the release is published and immutable. It stays a draft."""
        existing = self.find_backfill_draft(tag, lane)
        if existing is not None:
            return existing
        name = backfill_name(tag, lane)
        created = self._create(tag, commit=commit, name=name, body=body, backfill=True)
        return self._settle_race(tag, created, name=name)

    def _create(self, tag: str, *, commit: str, name: str, body: str,
                backfill: bool) -> ReleaseInfo:
        payload = {"tag_name": tag, "target_commitish": commit, "name": name, "body": body,
                   "draft": True}

        def post() -> ReleaseInfo:
            return self._note(self.http.call("POST", f"{self.repo}/releases", body=payload)[1])

        def settle() -> ReleaseInfo | None:
            drafts = self._drafts_for(tag, name=name if backfill else None)
            if len(drafts) > 1:
                raise _duplicates_error(tag, drafts)
            return _release(drafts[0]) if drafts else None

        created = self.http.retrying.run(f"create the draft of {tag}", post, settle=settle)
        log.info("github.draft_created", tag=tag, release_id=created.release_id, url=created.url)
        return created

    def _settle_race(self, tag: str, created: ReleaseInfo, *, name: str | None) -> ReleaseInfo:
        drafts = self._drafts_for(tag, name=name)
        if len(drafts) <= 1:
            return created
        winner = min(drafts, key=lambda d: int(d["id"]))
        if int(winner["id"]) == created.release_id:
            return created  # the other run deletes its own
        self._delete(created.release_id)
        log.warning("github.draft_race_lost", tag=tag, deleted=created.release_id,
                    kept=int(winner["id"]))
        if len(drafts) > 2:  # noqa: PLR2004 - ours and one other is a race; more is not
            raise _duplicates_error(tag, [d for d in drafts
                                          if int(d["id"]) != created.release_id])
        return _release(winner)

    def _delete(self, release_id: int) -> None:
        try:
            self.http.retried("DELETE", f"{self.repo}/releases/{release_id}")
        except GithubException as exc:
            if exc.status != HTTP_NOT_FOUND:
                raise

    def update_body(self, release_id: int, body: str) -> None:
        self._patch(release_id, {"body": body})

    def publish(self, release_id: int, *, body: str | None = None,
                read: ReleaseInfo | None = None) -> ReleaseInfo:
        """Draft -> published (with `body`, in the same request); an already published
        release is returned unchanged. `read`: the release as the caller has just read it."""
        current = read if read is not None and read.release_id == release_id else \
            self.get(release_id)
        if not current.draft:
            return current
        fields: dict[str, Any] = {"draft": False} if body is None else {"draft": False,
                                                                          "body": body}
        published = self._patch(release_id, fields)
        log.info("github.published", tag=published.tag, url=published.url,
                 immutable=published.immutable)
        return published

    def _patch(self, release_id: int, fields: dict[str, Any]) -> ReleaseInfo:
        url = f"{self.repo}/releases/{release_id}"  # PATCH sets fields: safe to repeat
        return self._note(self.http.retried("PATCH", url, body=fields))


def _release(data: Mapping[str, Any]) -> ReleaseInfo:
    return ReleaseInfo(
        release_id=int(data["id"]),
        tag=str(data["tag_name"]),
        draft=bool(data["draft"]),
        immutable=bool(data.get("immutable") or False),
        url=str(data["html_url"]),
        body=str(data.get("body") or ""),
    )


def _is_backfill(release: Mapping[str, Any]) -> bool:
    name = str(release.get("name") or "")
    return name.startswith(f"{release['tag_name']} backfill ")


def _duplicates_error(tag: str, drafts: Sequence[Mapping[str, Any]]) -> DuplicateDraftsError:
    lines = [
        f"  - id {d['id']}, created {d['created_at']}, {len(d.get('assets') or [])} assets"
        f"{', holds the state log' if _has_log(d) else ''}: {d['html_url']}"
        for d in sorted(drafts, key=lambda d: int(d["id"]))
    ]
    keep = next((d for d in sorted(drafts, key=lambda d: int(d["id"])) if _has_log(d)), None)
    advice = (f"Keep the draft that holds the state log (id {keep['id']}) and delete the others"
              if keep else "Keep the oldest draft (lowest id) and delete the others")
    return DuplicateDraftsError(
        f"{len(drafts)} draft releases claim tag {tag}; none is picked silently:\n"
        + "\n".join(lines),
        hint=f"{advice} on the releases page, then re-run the job.",
    )


def _has_log(release: Mapping[str, Any]) -> bool:
    return any(SNAPSHOT.fullmatch(str(a.get("name", ""))) for a in release.get("assets") or [])
