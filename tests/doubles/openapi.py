"""Check the GitHub double's responses against GitHub's published OpenAPI description.

The description is the npm package `@octokit/openapi` (pinned in tests/openapi/package-lock.json),
file `generated/api.github.com.json`, OpenAPI 3.0.3. It is loaded once per session and turned
into JSON Schema 2020-12 in place:

- OpenAPI 3.0 `nullable: true` becomes `"null"` in `type` (and `null` in `enum`), or an
  `anyOf` with `{"type": "null"}` when the schema has no `type` of its own (`$ref`, `allOf`...).
- Known gaps between the description and what GitHub answers are patched here, each with its
  source (see `KNOWN_GAPS`), so a difference is a decision, never a silent pass.

A recorded call is mapped to its operation by matching the concrete path against the path
templates (literal segments win over parameters; a last parameter may hold slashes, as `ref`
does in `/git/ref/{ref}`), then the response for the status code and content type is picked and
the JSON body validated with `jsonschema`, including the `date-time` and `uri` formats.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tests.doubles.wire import Call

SPEC_PATH = (
    Path(__file__).resolve().parents[1]
    / "openapi/node_modules/@octokit/openapi/generated/api.github.com.json"
)
BASE = "urn:github-openapi"
API_PREFIXES = {"api": "/api/v3", "uploads": "/api/uploads"}


def _add_starter_state(spec: dict[str, Any]) -> None:
    """A release asset whose upload failed is in state `starter` (concourse/github-release-
    resource#116), which the description's enum (`uploaded`, `open`) leaves out."""
    state = spec["components"]["schemas"]["release-asset"]["properties"]["state"]
    state["enum"] = [*state["enum"], "starter"]


KNOWN_GAPS = (_add_starter_state,)


@dataclass(frozen=True, kw_only=True)
class Operation:
    method: str
    template: str
    pointer: str  # JSON pointer of the operation in the description

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(kw_only=True)
class Report:
    """What `check` found: how many calls were validated, and each mismatch."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)


class OpenApi:
    """GitHub's REST description, ready to validate responses (build it once per session)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        for patch in KNOWN_GAPS:
            patch(spec)
        _nullable_to_json_schema(spec)
        self.spec = spec
        self._registry: Registry[Any] = Registry().with_resource(
            BASE, Resource.from_contents(spec, default_specification=DRAFT202012)
        )
        self._templates = [_compile(t) for t in spec["paths"]]

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> OpenApi:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def operation(self, method: str, path: str) -> Operation | None:
        """The documented operation for a concrete API path (without the /api/v3 prefix).

        Parameters match one segment; only when nothing matches may a template's last
        parameter span slashes (`ref` in `/git/ref/{ref}` is `tags/v1.0`).
        """
        for greedy in (False, True):
            candidates = [
                (literal, template)
                for template, patterns, literal in self._templates
                if patterns[greedy].match(path) and method.lower() in self.spec["paths"][template]
            ]
            if candidates:
                template = max(candidates)[1]
                return Operation(
                    method=method.upper(),
                    template=template,
                    pointer=f"/paths/{_escape(template)}/{method.lower()}",
                )
        return None

    def check(self, calls: Iterable[Call]) -> Report:
        report = Report()
        for call in calls:
            problem = self.check_call(call)
            if problem is not None:
                report.problems.append(problem)
            elif call.kind in API_PREFIXES and call.status is not None:
                report.checked += 1
        return report

    def check_call(self, call: Call) -> str | None:
        """None if the response fits the description, else what is wrong with it."""
        if call.kind not in API_PREFIXES or call.status is None:
            return None  # downloads are not API responses; a dropped call has no response
        path = call.path.removeprefix(API_PREFIXES[call.kind])
        operation = self.operation(call.method, path)
        where = f"{call.method} {call.path} -> {call.status}"
        if operation is None:
            if call.status >= 400:
                return self._check_body(call, "/components/schemas/basic-error", where)
            return f"{where}: no operation in GitHub's OpenAPI description"
        return self._check_operation(call, operation, f"{where} ({operation})")

    def _check_operation(self, call: Call, operation: Operation, where: str) -> str | None:
        assert call.status is not None
        responses = self._at(operation.pointer + "/responses")
        key = str(call.status) if str(call.status) in responses else "default"
        if key not in responses:
            if call.status >= 400:
                return self._check_body(call, "/components/schemas/basic-error", where)
            return f"{where}: status {call.status} is not documented for this operation"
        pointer = f"{operation.pointer}/responses/{key}"
        response = self._at(pointer)
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
            response = self._at(pointer)
        content = response.get("content")
        if not content:
            if call.status == 204 and call.body:
                return f"{where}: 204 with a body"
            return None
        media = (call.content_type or "").split(";")[0].strip()
        if media not in content:
            return f"{where}: content type {media!r} not documented (has {sorted(content)})"
        return self._check_body(call, f"{pointer}/content/{_escape(media)}/schema", where)

    def _check_body(self, call: Call, pointer: str, where: str) -> str | None:
        try:
            body = json.loads(call.body)
        except ValueError:
            return f"{where}: body is not JSON: {call.body[:80]!r}"
        error = next(iter(self._validator(pointer).iter_errors(body)), None)
        if error is None:
            return None
        at = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return f"{where}: schema {pointer}: at {at}: {error.message[:300]}"

    @functools.cache  # noqa: B019 - one instance per session; caching compiled validators is the point
    def _validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$ref": f"{BASE}#{pointer}"}, registry=self._registry, format_checker=FORMATS
        )

    def _at(self, pointer: str) -> Any:
        node: Any = self.spec
        for part in pointer.lstrip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node


@functools.cache
def load_spec() -> OpenApi:
    """The session's one OpenApi (loading and converting takes about half a second)."""
    return OpenApi.load()


FORMATS = FormatChecker(formats=())
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        return False
    datetime.fromisoformat(value)
    return True


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path))


FORMATS.checks("date-time", raises=ValueError)(_is_date_time)
FORMATS.checks("uri")(_is_uri)


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


SLASHED = {"{ref}", "{path}"}  # parameters whose values hold slashes (`tags/v1`, `a/b.txt`)


def _compile(template: str) -> tuple[str, tuple[re.Pattern[str], re.Pattern[str]], int]:
    """A path template as (one-segment, last-parameter-spans-slashes) regexes, and its weight."""
    names = re.findall(r"\{[^}]+\}", template)
    strict = greedy = re.escape(template)
    for index, name in enumerate(names):
        tail = index == len(names) - 1 and template.endswith(name) and name in SLASHED
        strict = strict.replace(re.escape(name), "[^/]+", 1)
        greedy = greedy.replace(re.escape(name), ".+" if tail else "[^/]+", 1)
    literal = len(re.sub(r"\{[^}]+\}", "", template))
    return template, (re.compile(f"^{strict}$"), re.compile(f"^{greedy}$")), literal


def _nullable_to_json_schema(node: Any) -> None:
    """Rewrite OpenAPI 3.0 `nullable` into JSON Schema, everywhere, in place."""
    if isinstance(node, list):
        for item in node:
            _nullable_to_json_schema(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        if isinstance(value, dict | list):
            _nullable_to_json_schema(value)
    if node.get("nullable") is not True:
        return
    del node["nullable"]
    if any(k in node for k in ("$ref", "allOf", "anyOf", "oneOf")) or "type" not in node:
        rest = dict(node)
        node.clear()
        node["anyOf"] = [rest, {"type": "null"}]
        return
    node["type"] = [node["type"], "null"]
    if "enum" in node:
        node["enum"] = [*node["enum"], None]
