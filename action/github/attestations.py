"""GitHub's artifact attestations: a Sigstore bundle stored for the repository, found later by
its subjects' digests (`gh attestation verify FILE -R owner/repo`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from github import GithubException

from action.errors import GitHubError
from action.github.failures import describe
from action.logs import get_logger

if TYPE_CHECKING:
    from collections.abc import Mapping

    from action.github.transport import Transport

log = get_logger(__name__)

HTTP_FORBIDDEN = 403


def create_attestation(http: Transport, repository: str, bundle: Mapping[str, Any]) -> int:
    """`POST /repos/{owner}/{repo}/attestations` with the bundle; the attestation's id. Retried
    like any call: a repeat stores a duplicate, which does no harm."""
    url = f"/repos/{repository}/attestations"
    try:
        _headers, answer = http.retrying.run(
            f"POST {url}", lambda: http.call("POST", url, body={"bundle": dict(bundle)}))
    except GithubException as exc:
        if exc.status == HTTP_FORBIDDEN:
            raise GitHubError(
                f"GitHub forbade storing the attestation ({describe(exc)})",
                hint="Give the job `permissions: attestations: write` (and `id-token: "
                "write`), as the example workflow does.") from exc
        raise
    log.info("github.attestation_created", id=answer.get("id"))
    return int(answer["id"])
