"""SLSA provenance v1 statements: content, schema, determinism, reading back."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
import rfc8785
from sigstore.dsse import Statement

from action.attestation import statement as pv
from action.errors import ConfigError, VerificationError

COMMIT = "0123456789abcdef0123456789abcdef01234567"
STARTED = datetime(2026, 11, 1, 12, 0, 5, tzinfo=UTC)
RUN = pv.RunDetails(
    server_url="https://github.com",
    repository="pallets/markupsafe",
    commit=COMMIT,
    tag="3.0.0",
    run_id="123456",
    run_attempt=2,
    workflow=".github/workflows/publish.yaml",
    event="push",
    lane="main",
    started_on=STARTED,
)
IMAGES = (
    pv.BuilderImage("quay.io/pypa/manylinux_2_28_x86_64", "sha256:" + "b" * 64),
    pv.BuilderImage("quay.io/pypa/musllinux_1_2_x86_64", "a" * 64),
)


def subjects_for(files: dict[str, bytes]) -> list[pv.Subject]:
    return [pv.Subject(name, hashlib.sha256(data).hexdigest()) for name, data in files.items()]


FILES = {
    "markupsafe-3.0.0.tar.gz": b"sdist bytes",
    "markupsafe-3.0.0-cp312-cp312-manylinux_2_28_x86_64.whl": b"wheel 312",
    "markupsafe-3.0.0-cp311-cp311-manylinux_2_28_x86_64.whl": b"wheel 311",
}


def statement(run: pv.RunDetails = RUN, files: dict[str, bytes] = FILES) -> dict[str, Any]:
    return json.loads(pv.build_statement(subjects_for(files), run, IMAGES))


# A transcription of the in-toto Statement v1 and SLSA Provenance v1 field definitions
# (in-toto/attestation spec/v1/statement.md, slsa.dev/spec/v1.0/provenance), required fields only.
_DIGEST = {"type": "object", "minProperties": 1,
           "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]+$"}}
_DESCRIPTOR = {"type": "object", "anyOf": [{"required": ["uri"]}, {"required": ["digest"]},
                                            {"required": ["content"]}],
               "properties": {"name": {"type": "string"}, "uri": {"type": "string"},
                              "digest": _DIGEST, "annotations": {"type": "object"}}}
SCHEMA = {
    "type": "object",
    "required": ["_type", "subject", "predicateType", "predicate"],
    "properties": {
        "_type": {"const": "https://in-toto.io/Statement/v1"},
        "subject": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "digest"],
            "properties": {"name": {"type": "string"}, "digest": _DIGEST}}},
        "predicateType": {"const": "https://slsa.dev/provenance/v1"},
        "predicate": {"type": "object", "required": ["buildDefinition", "runDetails"],
                      "properties": {
            "buildDefinition": {
                "type": "object", "required": ["buildType", "externalParameters"],
                "properties": {"buildType": {"type": "string", "format": "uri"},
                               "externalParameters": {"type": "object"},
                               "internalParameters": {"type": "object"},
                               "resolvedDependencies": {"type": "array", "items": _DESCRIPTOR}}},
            "runDetails": {
                "type": "object", "required": ["builder"],
                "properties": {
                    "builder": {"type": "object", "required": ["id"],
                                "properties": {"id": {"type": "string"}}},
                    "metadata": {"type": "object", "properties": {
                        "invocationId": {"type": "string"},
                        "startedOn": {"type": "string", "format": "date-time"}}}}}}},
    },
}


class TestFileNames:
    def test_main_lane_is_multiple(self):
        """The main lane's provenance keeps the seed's name, multiple.intoto.jsonl."""
        assert pv.provenance_file_name("main") == "multiple.intoto.jsonl"

    def test_backfill_lane_is_named_after_it(self):
        """A backfill lane's provenance is <lane>.intoto.jsonl."""
        assert pv.provenance_file_name("cp314") == "cp314.intoto.jsonl"

    def test_bundle_sits_next_to_it(self):
        """The Sigstore bundle of a lane is named after its provenance."""
        assert pv.bundle_file_name("main") == "multiple.intoto.sigstore.json"
        assert pv.bundle_file_name("cp314") == "cp314.intoto.sigstore.json"

    def test_bad_lane_is_refused(self):
        """A lane name that could escape the directory is a ConfigError."""
        with pytest.raises(ConfigError, match="lane name"):
            pv.provenance_file_name("../x")


class TestStatement:
    def test_matches_the_slsa_v1_schema(self):
        """The statement validates against in-toto v1 + SLSA provenance v1."""
        jsonschema.validate(statement(), SCHEMA, format_checker=jsonschema.FormatChecker())

    def test_sigstore_accepts_it_as_an_in_toto_statement(self):
        """sigstore's own Statement model (used for keyless signing) accepts the bytes."""
        Statement(pv.build_statement(subjects_for(FILES), RUN, IMAGES))

    def test_every_file_is_a_subject_sorted_by_name(self):
        """Each file is a subject with its sha256, in name order."""
        subjects = statement()["subject"]
        assert [s["name"] for s in subjects] == sorted(FILES)
        for s in subjects:
            assert s["digest"] == {"sha256": hashlib.sha256(FILES[s["name"]]).hexdigest()}

    def test_build_definition(self):
        """buildType, externalParameters and the tag's source with its commit."""
        definition = statement()["predicate"]["buildDefinition"]
        assert definition["buildType"] == pv.BUILD_TYPE
        assert definition["externalParameters"] == {
            "repository": "pallets/markupsafe", "ref": "refs/tags/3.0.0", "tag": "3.0.0",
            "workflow": ".github/workflows/publish.yaml", "event": "push", "lane": "main",
            "python": [],
        }
        assert definition["resolvedDependencies"][0] == {
            "uri": "git+https://github.com/pallets/markupsafe@refs/tags/3.0.0",
            "digest": {"gitCommit": COMMIT},
        }

    def test_builder_images_are_dependencies(self):
        """Each builder image is a dependency by name and bare sha256, sorted, once."""
        doubled = (*IMAGES, IMAGES[0])
        data = json.loads(pv.build_statement(subjects_for(FILES), RUN, doubled))
        deps = data["predicate"]["buildDefinition"]["resolvedDependencies"][1:]
        assert deps == [
            {"name": "quay.io/pypa/manylinux_2_28_x86_64", "digest": {"sha256": "b" * 64}},
            {"name": "quay.io/pypa/musllinux_1_2_x86_64", "digest": {"sha256": "a" * 64}},
        ]

    def test_run_details(self):
        """Builder id, invocation id from run id + attempt, and the start time in UTC."""
        details = statement()["predicate"]["runDetails"]
        assert details == {
            "builder": {"id": pv.GITHUB_HOSTED_BUILDER},
            "metadata": {
                "invocationId": "https://github.com/pallets/markupsafe/actions/runs/123456/"
                "attempts/2",
                "startedOn": "2026-11-01T12:00:05Z",
            },
        }

    def test_backfill_lane_names_its_python_identifiers(self):
        """A backfill lane records which Python identifiers it adds."""
        run = dataclasses.replace(RUN, lane="cp314", event="workflow_dispatch",
                                  python=("cp314", "cp314t"))
        params = statement(run)["predicate"]["buildDefinition"]["externalParameters"]
        assert params["lane"] == "cp314"
        assert params["python"] == ["cp314", "cp314t"]
        assert params["event"] == "workflow_dispatch"

    def test_is_deterministic_and_canonical(self):
        """The same inputs in any order give the same RFC 8785 bytes."""
        one = pv.build_statement(subjects_for(FILES), RUN, IMAGES)
        reversed_files = dict(reversed(list(FILES.items())))
        two = pv.build_statement(subjects_for(reversed_files), RUN, IMAGES[::-1])
        assert one == two
        assert one == rfc8785.dumps(json.loads(one))


SDIST = pv.Subject("markupsafe-3.0.0.tar.gz", hashlib.sha256(FILES["markupsafe-3.0.0.tar.gz"])
                   .hexdigest())


class TestWheelSource:
    def _statement(self) -> dict[str, Any]:
        source = pv.WheelSource(SDIST, ("linux", "wheel"))
        return json.loads(pv.build_statement(subjects_for(FILES), RUN, IMAGES, [source]))

    def test_the_sdist_is_a_dependency_annotated_with_the_parts_built_from_it(self):
        """The sdist the wheels came from is a resolvedDependency: name, sha256, role, parts."""
        data = self._statement()
        jsonschema.validate(data, SCHEMA, format_checker=jsonschema.FormatChecker())
        deps = data["predicate"]["buildDefinition"]["resolvedDependencies"]
        assert deps[-1] == {"name": "markupsafe-3.0.0.tar.gz",
                            "digest": {"sha256": SDIST.sha256},
                            "annotations": {"role": "wheel-source", "parts": ["linux", "wheel"]}}
        assert deps[-1]["digest"] == next(s["digest"] for s in data["subject"]
                                          if s["name"] == SDIST.name)

    def test_read_back_from_the_statement(self):
        """read_statement returns the wheel source; a statement without one has none."""
        claims = pv.read_statement(pv.build_statement(
            subjects_for(FILES), RUN, IMAGES, [pv.WheelSource(SDIST, ("linux",))]))
        assert claims.wheel_sources == (pv.WheelSource(SDIST, ("linux",)),)
        assert pv.read_statement(pv.build_statement(subjects_for(FILES), RUN)).wheel_sources == ()

    def test_only_an_sdist_with_parts_is_a_wheel_source(self):
        """A wheel, or no parts, is refused as a wheel source."""
        with pytest.raises(ConfigError, match="is an sdist"):
            pv.WheelSource(pv.Subject("a-1.0-py3-none-any.whl", "a" * 64), ("linux",))
        with pytest.raises(ConfigError, match="which parts"):
            pv.WheelSource(SDIST, ())


class TestInputsAreChecked:
    def test_no_files(self):
        """Provenance for no files is refused."""
        with pytest.raises(ConfigError, match="at least one file"):
            pv.build_statement([], RUN)

    def test_duplicate_names(self):
        """A file listed twice is refused."""
        with pytest.raises(ConfigError, match="twice"):
            pv.build_statement([pv.Subject("a.whl", "0" * 64), pv.Subject("a.whl", "1" * 64)], RUN)

    @pytest.mark.parametrize("digest", ["0" * 63, "A" * 64, "sha256:" + "0" * 64])
    def test_subject_digest(self, digest: str):
        """A subject's digest must be 64 lowercase hex digits."""
        with pytest.raises(ConfigError, match="sha256"):
            pv.Subject("a.whl", digest)

    def test_subject_name_is_plain(self):
        """A subject is a plain file name, never a path."""
        with pytest.raises(ConfigError):
            pv.Subject("dist/a.whl", "0" * 64)

    def test_image_digest(self):
        """A builder image needs a sha256 digest."""
        with pytest.raises(ConfigError, match="digest"):
            pv.BuilderImage("quay.io/pypa/manylinux", "latest")

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("commit", "abc", "commit"),
        ("repository", "no-slash", "owner/name"),
        ("server_url", "http://github.com", "https"),
        ("tag", "", "tag"),
        ("run_id", "x1", "run_id"),
        ("run_attempt", 0, "run_attempt"),
        ("python", ("3.14",), "python"),
        ("lane", "Main Lane", "lane name"),
        ("started_on", datetime(2026, 1, 1), "UTC"),  # noqa: DTZ001 - a naive time on purpose
    ])
    def test_run_details(self, field: str, value: object, message: str):
        """Each run detail is checked on construction."""
        with pytest.raises(ConfigError, match=message):
            dataclasses.replace(RUN, **{field: value})


class TestReadStatement:
    def test_round_trip(self):
        """Reading a statement back gives the files, repository, commit, tag, lane, workflow."""
        claims = pv.read_statement(pv.build_statement(subjects_for(FILES), RUN, IMAGES))
        assert claims.repository == "pallets/markupsafe"
        assert claims.commit == COMMIT
        assert claims.tag == "3.0.0"
        assert claims.lane == "main"
        assert claims.workflow == ".github/workflows/publish.yaml"
        assert {s.name for s in claims.subjects} == set(FILES)
        sdist = "markupsafe-3.0.0.tar.gz"
        assert claims.digest_of(sdist) == hashlib.sha256(FILES[sdist]).hexdigest()
        assert claims.digest_of("other.whl") is None

    @pytest.mark.parametrize("payload", [
        b"not json",
        b"{}",
        json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "subject": [],
                    "predicateType": "https://slsa.dev/provenance/v0.2"}).encode(),
    ])
    def test_foreign_payload_is_refused(self, payload: bytes):
        """Anything that is not our provenance is a VerificationError, not a crash."""
        with pytest.raises(VerificationError, match="not SLSA provenance v1"):
            pv.read_statement(payload)
