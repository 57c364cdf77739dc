"""PyYAML, read as GitHub reads workflow files: YAML 1.2's booleans and no duplicate keys.

PyYAML implements YAML 1.1, where `on`, `yes` and `off` are booleans: a workflow's `on:` key
would come out as True. GitHub's parser follows YAML 1.2 (only true/false are booleans) and
refuses a mapping that repeats a key, which PyYAML would silently let the last one win. This
loader changes exactly those two things; everything else is PyYAML's SafeLoader.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

BOOL_TAG = "tag:yaml.org,2002:bool"


class WorkflowYamlError(ValueError):
    """The text is not YAML GitHub would accept."""


class WorkflowLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise WorkflowYamlError(f"duplicate key {key!r} at line {line}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


WorkflowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
WorkflowLoader.add_implicit_resolver(
    BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load(text: str) -> Any:
    """The one document in `text`."""
    try:
        return yaml.load(text, Loader=WorkflowLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise WorkflowYamlError(str(exc)) from None
