"""action/index/ without a network: config, simple-API parsing, twine output, retries, hints."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests

from action.errors import ConfigError, FileExistsOnIndexError, PackageIndexError
from action.index import (
    ApiToken,
    IndexConfig,
    MintedToken,
    TrustedPublishing,
    parse_simple,
    parse_simple_html,
    parse_simple_json,
    read_failure,
)
from action.index.transport import TransientError, retrying
from action.index.trusted import mint_error
from action.index.uploading import explain
from action.retry import Backoff

SHA_A = "a" * 64
SHA_B = "b" * 64


def token_config(name="pypi", **urls) -> IndexConfig:
    return IndexConfig.create(name, credentials=ApiToken("pypi-secret-token"), **urls)


class TestIndexConfig:
    def test_pypi_gets_the_conventional_urls(self):
        """PyPI: upload.pypi.org/legacy/, pypi.org/simple/, OIDC at pypi.org."""
        config = token_config("pypi")
        assert config.upload_url == "https://upload.pypi.org/legacy/"
        assert config.simple_url == "https://pypi.org/simple/"
        assert config.root_url == "https://pypi.org/"

    def test_testpypi_gets_the_conventional_urls(self):
        """Test PyPI: test.pypi.org/legacy/ and test.pypi.org/simple/."""
        config = token_config("testpypi")
        assert config.upload_url == "https://test.pypi.org/legacy/"
        assert config.simple_url == "https://test.pypi.org/simple/"
        assert config.root_url == "https://test.pypi.org/"

    def test_other_urls_derive_simple_from_the_root(self):
        """A pypiserver root serves uploads at / and the simple API at /simple/."""
        config = token_config("pypi", upload_url="http://127.0.0.1:8080")
        assert config.upload_url == "http://127.0.0.1:8080/"
        assert config.simple_url == "http://127.0.0.1:8080/simple/"

    def test_legacy_suffix_is_stripped_for_the_root(self):
        """A warehouse-like upload URL .../legacy/ has its simple API beside it."""
        config = token_config("testpypi", upload_url="https://idx.example/legacy/")
        assert config.simple_url == "https://idx.example/simple/"
        assert config.root_url == "https://idx.example/"

    def test_given_simple_url_wins(self):
        """An explicit simple URL is kept (with a trailing slash)."""
        config = token_config("pypi", upload_url="http://h/up/", simple_url="http://h/s")
        assert config.simple_url == "http://h/s/"

    def test_unknown_name_is_refused(self):
        """Only testpypi and pypi are index names."""
        with pytest.raises(ConfigError, match="unknown package index"):
            token_config("devpi", upload_url="http://h/")  # type: ignore[arg-type]

    def test_non_http_url_is_refused(self):
        """A URL without http(s) is a configuration error."""
        with pytest.raises(ConfigError, match="not an http"):
            token_config("pypi", upload_url="ftp://h/")

    def test_empty_token_is_refused(self):
        """An empty token is a missing secret, said at once."""
        with pytest.raises(ConfigError, match="token is empty"):
            ApiToken("  ")

    def test_repr_hides_the_token(self):
        """The token never shows in a repr (and so never in a log of the config)."""
        assert "pypi-secret-token" not in repr(token_config())

    def test_project_url_is_normalised(self):
        """PEP 503: runs of -, _, . become - and letters lower case."""
        assert token_config().project_url("Tiny__Pkg.x") == "https://pypi.org/simple/tiny-pkg-x/"

    def test_trusted_publishing_from_the_runner_env(self):
        """Repository and workflow file come from GITHUB_REPOSITORY and GITHUB_WORKFLOW_REF."""
        env = {"GITHUB_REPOSITORY": "acme/tiny",
               "GITHUB_WORKFLOW_REF": "acme/tiny/.github/workflows/release.yml@refs/tags/v1"}
        tp = TrustedPublishing.from_env(env, environment="pypi")
        assert tp == TrustedPublishing(repository="acme/tiny", workflow="release.yml",
                                       environment="pypi")


class TestSimpleJson:
    def test_files_and_sha256(self):
        """PEP 691: filename -> hashes.sha256 (lower case)."""
        page = {"meta": {"api-version": "1.1"}, "name": "tiny-pkg", "files": [
            {"filename": "tiny_pkg-0.1.0.tar.gz", "url": "u1", "hashes": {"sha256": SHA_A.upper()}},
            {"filename": "tiny_pkg-0.1.0-py3-none-any.whl", "url": "u2",
             "hashes": {"sha256": SHA_B, "blake2b_256": "c" * 64}, "yanked": False},
        ]}
        assert parse_simple_json(page) == {
            "tiny_pkg-0.1.0.tar.gz": SHA_A, "tiny_pkg-0.1.0-py3-none-any.whl": SHA_B,
        }

    def test_file_without_sha256_has_empty_digest(self):
        """A file listed without sha256 is present, digest unknown ("")."""
        page = {"files": [{"filename": "p-1.tar.gz", "url": "u", "hashes": {"md5": "x"}}]}
        assert parse_simple_json(page) == {"p-1.tar.gz": ""}

    def test_no_files_list_is_an_error(self):
        """A JSON answer without `files` is not a project page."""
        with pytest.raises(PackageIndexError, match="'files'"):
            parse_simple_json({"name": "p"})

    def test_dispatch_by_media_type(self):
        """The JSON media type is parsed as PEP 691, parameters ignored."""
        body = json.dumps({"files": [{"filename": "p-1.tar.gz", "hashes": {"sha256": SHA_A}}]})
        media = "application/vnd.pypi.simple.v1+json; charset=utf-8"
        assert parse_simple(media, body) == {"p-1.tar.gz": SHA_A}


class TestSimpleHtml:
    PAGE = f"""<!DOCTYPE html><html><body><h1>Links for tiny-pkg</h1>
      <a href="../../packages/tiny_pkg-0.1.0.tar.gz#sha256={SHA_A}">tiny_pkg-0.1.0.tar.gz</a><br>
      <a href="https://files.example/x/tiny_pkg-0.1.0-py3-none-any.whl#sha256={SHA_B}"
         data-requires-python="&gt;=3.8">tiny_pkg-0.1.0-py3-none-any.whl</a><br>
      <a href="/p/tiny%2Bpkg-0.2.tar.gz#md5=0123">tiny+pkg-0.2.tar.gz</a>
    </body></html>"""

    def test_links_with_sha256_fragments(self):
        """PEP 503: the file name is the link's last path part, the digest its fragment."""
        files = parse_simple_html(self.PAGE)
        assert files["tiny_pkg-0.1.0.tar.gz"] == SHA_A
        assert files["tiny_pkg-0.1.0-py3-none-any.whl"] == SHA_B

    def test_other_hash_algorithms_give_no_digest(self):
        """A md5-only link is listed with "" and its name is URL-decoded."""
        assert parse_simple_html(self.PAGE)["tiny+pkg-0.2.tar.gz"] == ""

    def test_dispatch_by_media_type(self):
        """text/html (pypiserver) and the PEP 691 HTML type are parsed as PEP 503."""
        for media in ("text/html; charset=UTF-8", "application/vnd.pypi.simple.v1+html"):
            assert len(parse_simple(media, self.PAGE)) == 3

    def test_unknown_media_type_is_an_error(self):
        """Anything else is refused rather than guessed."""
        with pytest.raises(PackageIndexError, match="unexpected media type"):
            parse_simple("application/octet-stream", "")


def answer(status: int, reason: str, body: str = "") -> requests.Response:
    """The HTTP answer an index gives to a refused upload, as requests hands it over."""
    response = requests.Response()
    response.status_code, response.reason = status, reason
    response._content = body.encode()
    response.headers["Content-Type"] = "text/html"
    return response


class TestReadFailure:
    def test_pypi_message_is_the_reason_phrase(self):
        """PyPI puts its message into the reason phrase; that is what the user sees."""
        reason = "File already exists ('p-1.tar.gz', with blake2_256 hash 'ab'). See help."
        failure = read_failure(answer(400, reason, "<html></html>"))
        assert (failure.status, failure.message, failure.transient) == (400, reason, False)

    def test_pypiserver_message_is_in_the_body(self):
        """pypiserver says "Bad Request" and puts its words in the page's <pre>."""
        body = "<html><body><pre>Package &#039;p-1.tar.gz&#039; already exists!</pre></body>"
        failure = read_failure(answer(400, "Bad Request", body))
        assert failure.message == "Bad Request: Package 'p-1.tar.gz' already exists!"

    def test_5xx_and_429_are_transient(self):
        """A 503 or a 429 is worth another try; a 400 is not."""
        assert read_failure(answer(503, "Service Unavailable")).transient
        assert read_failure(answer(429, "Too Many Requests")).transient
        assert not read_failure(answer(400, "Bad Request")).transient


class TestExplain:
    WHEEL = Path("tiny_pkg-0.1.0-py3-none-any.whl")

    def explain(self, status: int, reason: str, credentials=None) -> PackageIndexError:
        config = IndexConfig.create("pypi", credentials=credentials or ApiToken("pypi-x-token"))
        return explain(config, read_failure(answer(status, reason)), self.WHEEL)

    def test_file_exists_says_compare_digests(self):
        """400 "File already exists": a FileExistsOnIndexError that says to compare digests."""
        error = self.explain(400, "File already exists ('tiny_pkg-0.1.0-py3-none-any.whl').")
        assert isinstance(error, FileExistsOnIndexError)
        assert "Compare digests" in error.hint

    def test_reused_filename_says_make_a_new_version(self):
        """400 "filename has already been used": the name is gone for good."""
        error = self.explain(400, "This filename has already been used, use a different version.")
        assert not isinstance(error, FileExistsOnIndexError)
        assert "new version" in error.hint
        assert "has already been used" in error.message

    def test_second_sdist_is_explained(self):
        """400 "Only one sdist may be uploaded per release"."""
        error = self.explain(400, "Only one sdist may be uploaded per release.")
        assert "one sdist per release" in error.hint

    def test_403_with_trusted_publishing_names_the_publisher(self):
        """403 with trusted publishing: register a publisher for repository, workflow, env."""
        tp = TrustedPublishing(repository="acme/tiny", workflow="release.yml", environment="pypi")
        error = self.explain(403, "Invalid or non-existent authentication information.", tp)
        assert "HTTP 403" in error.message
        assert "Invalid or non-existent authentication" in error.message
        assert "repository acme/tiny, workflow release.yml, environment pypi" in error.hint
        assert "tiny-pkg" in error.hint

    def test_403_with_a_token_says_where_tokens_come_from(self):
        """403 with an API token: make a project-scoped token."""
        error = self.explain(403, "Invalid or non-existent authentication information.")
        assert "https://pypi.org/manage/account/token/" in error.hint


class TestMintErrors:
    JWT = "e30." + base64.urlsafe_b64encode(json.dumps({
        "repository": "acme/tiny", "environment": "",
        "workflow_ref": "acme/tiny/.github/workflows/pub.yml@refs/heads/main",
    }).encode()).decode().rstrip("=") + ".sig"

    def test_errors_are_listed_with_codes(self):
        """Every {"code", "description"} of the answer is in the message."""
        config = IndexConfig.create("pypi", credentials=TrustedPublishing())
        error = mint_error(422, {"errors": [
            {"code": "invalid-publisher", "description": "no corresponding publisher"},
            {"code": "other", "description": "second"}]}, config, self.JWT)
        assert "invalid-publisher: no corresponding publisher; other: second" in error.message
        assert "repository acme/tiny" in error.hint
        assert "workflow pub.yml" in error.hint
        assert "environment (none: leave it empty)" in error.hint
        assert "https://pypi.org/" in error.hint

    def test_answer_without_errors_gives_the_status(self):
        """An answer that is not the documented shape still says what happened."""
        config = IndexConfig.create("pypi", credentials=TrustedPublishing())
        error = mint_error(500, {}, config, self.JWT)
        assert "HTTP 500" in error.message
        assert "trusted publisher" in error.hint


class TestBackoff:
    def test_delays_grow_exponentially_with_jitter(self):
        """Half the delay is fixed, half is jitter; it doubles per attempt up to the cap."""
        backoff = Backoff(base=1.0, cap=5.0, jitter=lambda: 1.0)
        assert [backoff.delay(n) for n in range(4)] == [1.0, 2.0, 4.0, 5.0]
        assert Backoff(base=1.0, jitter=lambda: 0.0).delay(2) == 2.0

    def test_transient_failures_are_retried_after_waiting(self):
        """Two transient failures, then success: two waits, one result."""
        waits: list[float] = []
        outcomes = iter([TransientError("503"), TransientError("503"), "ok"])

        def attempt() -> str:
            outcome = next(outcomes)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        backoff = Backoff(base=1.0, sleep=waits.append, jitter=lambda: 0.0)
        assert retrying("reading", attempt, backoff) == "ok"
        assert waits == [0.5, 1.0]

    def test_giving_up_says_how_often(self):
        """After the last attempt a PackageIndexError names the count and the last reason."""

        def attempt() -> None:
            raise TransientError("HTTP 502 Bad Gateway")

        backoff = Backoff(attempts=3, sleep=lambda _s: None)
        with pytest.raises(PackageIndexError, match="failed 3 times; the last time: HTTP 502"):
            retrying("uploading p", attempt, backoff)


class TestMintedToken:
    def test_fresh_until_two_minutes_are_left(self):
        """A token is fresh while more than the margin (2 minutes) is left."""
        token = MintedToken("t", expires_at=1000.0)
        assert token.fresh(now=879.0)
        assert not token.fresh(now=880.0)

    def test_repr_hides_the_token(self):
        """The minted token is never in a repr."""
        assert "pypi-abc" not in repr(MintedToken("pypi-abc", 1.0))
