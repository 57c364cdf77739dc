"""Every parser of outside input: malformed input is a ReleaseError naming the file and place.

Issue 11: deeply nested JSON in a log or a provenance file raised RecursionError. Each parser
here is fed random bytes, mutations of a good input and deep nesting; anything but a success or
a ReleaseError fails the test. Bounded: 60 examples each, no deadline surprises.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from action import config
from action.attestation import verify
from action.attestation.dsse import read_envelopes
from action.attestation.statement import read_statement
from action.cli import main
from action.errors import ReleaseError
from action.index import parse_simple
from statemachine import log as eventlog
from tests.unit.story import Story

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
DEEP = [b"[" * 20_000 + b"]" * 20_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        b"[" * 20_000]


def good_log() -> bytes:
    story = Story()
    story.full()
    return story.log.to_bytes()


def mutations(good: bytes) -> st.SearchStrategy[bytes]:
    """Good bytes with a slice replaced by random bytes, or deep nesting spliced in."""
    return st.one_of(
        st.binary(max_size=300),
        st.tuples(st.integers(0, len(good)), st.integers(0, 40), st.binary(max_size=40)).map(
            lambda t: good[:t[0]] + t[2] + good[t[0] + t[1]:]),
        st.tuples(st.integers(0, len(good)), st.sampled_from(DEEP)).map(
            lambda t: good[:t[0]] + t[1] + good[t[0]:]),
    )


def refused_or_read(call, *args) -> ReleaseError | None:
    """Run the parser; a ReleaseError is fine (and returned), anything else escapes and fails."""
    try:
        call(*args)
    except ReleaseError as exc:
        return exc
    return None


LOG = good_log()


@pytest.mark.parametrize("data", DEEP)
def test_a_deeply_nested_log_names_the_line(data):
    """The issue's case: deep nesting is a LogError naming the line, not a RecursionError."""
    error = refused_or_read(eventlog.load, data if data.endswith(b"\n") else data + b"\n")
    assert error is not None
    assert "line 1 of the state log" in error.message


@FUZZ
@given(mutations(LOG))
def test_the_log_parser_refuses_with_a_log_error(data):
    refused_or_read(eventlog.load, data)


def test_status_names_the_log_file(tmp_path, capsys):
    """`status LOG` on a broken log names the file as well as the line."""
    path = tmp_path / "release-state.000001.jsonl"
    path.write_bytes(DEEP[0] + b"\n")
    assert main(["status", str(path)]) == 3
    err = capsys.readouterr().err
    assert str(path) in err and "line 1" in err


@pytest.fixture(scope="module")
def provenance_line() -> bytes:
    envelope = {"payload": "e30=", "payloadType": "application/vnd.in-toto+json",
                "signatures": [{"keyid": "k", "sig": "AAAA"}]}
    return json.dumps(envelope).encode()


@FUZZ
@given(data=st.data())
def test_the_provenance_reader_refuses_with_a_release_error(tmp_path, provenance_line, data):
    blob = data.draw(mutations(provenance_line + b"\n"))
    path = tmp_path / "multiple.intoto.jsonl"
    path.write_bytes(blob)
    error = refused_or_read(read_envelopes, path)
    if error is not None and blob.strip():
        assert path.name in error.message


@pytest.mark.parametrize("data", DEEP)
def test_deep_provenance_names_the_file_and_line(tmp_path, provenance_line, data):
    path = tmp_path / "multiple.intoto.jsonl"
    path.write_bytes(provenance_line + b"\n" + data + b"\n")
    error = refused_or_read(read_envelopes, path)
    assert error is not None
    assert "multiple.intoto.jsonl" in error.message and "line 2" in error.message


STATEMENT = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": [
    {"name": "a.whl", "digest": {"sha256": "0" * 64}}], "predicateType": "x",
    "predicate": {"buildDefinition": {"externalParameters": {}}}}).encode()


@FUZZ
@given(mutations(STATEMENT))
def test_the_statement_reader_refuses_with_a_release_error(data):
    refused_or_read(read_statement, data)


@FUZZ
@given(data=st.data())
def test_the_bundle_reader_refuses_with_a_release_error(tmp_path, data):
    good = json.dumps({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                       "verificationMaterial": {}, "dsseEnvelope": {}}).encode()
    path = tmp_path / "multiple.intoto.sigstore.json"
    path.write_bytes(data.draw(mutations(good)))
    error = refused_or_read(verify.read_bundle, path)
    assert error is not None and path.name in error.message


SIMPLE_JSON = json.dumps({"meta": {"api-version": "1.0"}, "name": "sample", "files": [
    {"filename": "sample-1.0.0.tar.gz", "hashes": {"sha256": "0" * 64}, "url": "x"}]}).encode()
SIMPLE_HTML = b'<html><body><a href="../x/sample-1.0.0.tar.gz#sha256=00">s</a></body></html>'


@FUZZ
@given(st.sampled_from(["application/vnd.pypi.simple.v1+json",
                        "application/vnd.pypi.simple.v1+html", "text/html"]),
       st.one_of(mutations(SIMPLE_JSON), mutations(SIMPLE_HTML)))
def test_the_simple_index_parser_refuses_with_a_release_error(content_type, data):
    refused_or_read(parse_simple, content_type, data.decode("utf-8", "replace"))


def test_a_deep_simple_json_page_is_an_index_error():
    error = refused_or_read(parse_simple, "application/vnd.pypi.simple.v1+json",
                            DEEP[0].decode())
    assert error is not None and "simple API" in error.message


EVENT = json.dumps({"pull_request": {"head": {"repo": {"full_name": "a/b", "fork": False}}},
                    "inputs": {"tag": "v1.0.0"}}).encode()


@FUZZ
@given(data=st.data())
def test_the_event_payload_reader_refuses_with_a_release_error(tmp_path, data):
    path = tmp_path / "event.json"
    path.write_bytes(data.draw(mutations(EVENT)))
    env = {"GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": "pull_request_target",
           "GITHUB_REPOSITORY": "a/b"}
    refused_or_read(lambda: config.refuse_pull_requests(env, config._event(env)))


@pytest.mark.parametrize("payload", [
    {"pull_request": []}, {"pull_request": {"head": "x"}}, {"pull_request": {"head": {"repo": 1}}},
])
def test_odd_event_payload_shapes_are_still_refused_as_pull_requests(tmp_path, payload):
    """A payload of the wrong shape is read as a pull request from a fork: refused."""
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    env = {"GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": "pull_request",
           "GITHUB_REPOSITORY": "a/b"}
    error = refused_or_read(lambda: config.refuse_pull_requests(env, config._event(env)))
    assert error is not None and "pull request" in error.message


def test_a_deep_event_payload_names_the_file(tmp_path):
    path = tmp_path / "event.json"
    path.write_bytes(DEEP[0])
    error = refused_or_read(config._event, {"GITHUB_EVENT_PATH": str(path)})
    assert error is not None and str(path) in error.message


def test_the_fuzzing_reaches_the_parsers_success_path(tmp_path, provenance_line):
    """The good inputs parse: the fuzz tests start from inputs that get past the first check."""
    assert refused_or_read(eventlog.load, LOG) is None
    path = Path(tmp_path / "p.intoto.jsonl")
    path.write_bytes(provenance_line + b"\n")
    assert refused_or_read(read_envelopes, path) is None
    assert refused_or_read(parse_simple, "application/vnd.pypi.simple.v1+json",
                           SIMPLE_JSON.decode()) is None
