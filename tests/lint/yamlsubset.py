"""A strict reader for the block-YAML subset of action.yml and the workflow files.

The test environment has no YAML library (pyproject's test extras hold none), and these files
are ours, so a small reader that refuses what it does not understand is enough: block mappings
and sequences (also `- key: value` items), plain, single- and double-quoted scalars, block
scalars (`|`, `|-`, `>`, `>-`), flow sequences of scalars (`[a, "b"]`), the empty flow mapping
`{}`, and comments. Anchors, tags, multi-line plain scalars, nested flow collections and
several documents raise YamlSubsetError rather than being misread. Scalars are strings except
`true`/`false`, integers and `null`/`~` (YAML 1.2's core schema: `on` is the string "on").
actionlint and zizmor parse the same files with full YAML parsers (tests/integration).
"""

from __future__ import annotations

import json
import re
from typing import Any

BLOCK_SCALAR = re.compile(r"[|>][-+]?")
INTEGER = re.compile(r"[-+]?\d+")
UNSUPPORTED_START = tuple("&*!%@`")
CORE_SCHEMA: dict[str, Any] = {"true": True, "false": False, "null": None, "~": None}


class YamlSubsetError(ValueError):
    """The text uses YAML this reader does not support (or is not YAML)."""


def load(text: str) -> Any:
    """The one document in `text`."""
    return _Reader(text).document()


def _strip_comment(text: str) -> str:
    quote = ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"" and (index == 0 or text[index - 1] in " [,:-"):
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text.rstrip()


def _split_key(text: str) -> tuple[str, str] | None:
    """`key: rest` or `key:` -> (key, rest); None when the text is not a mapping entry."""
    quote = ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"" and index == 0:
            quote = char
        elif char == ":" and (index + 1 == len(text) or text[index + 1] == " "):
            key = text[:index].strip()
            if not key:
                return None
            return str(scalar(key)), text[index + 1:].strip()
    return None


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith("- ")


def scalar(text: str) -> Any:
    """One scalar or flow collection of the subset."""
    if text.startswith(("'", '"')):
        return _quoted(text)
    if text.startswith("["):
        return _flow_sequence(text)
    if text.startswith("{"):
        if text.replace(" ", "") != "{}":
            raise YamlSubsetError(f"only the empty flow mapping is supported: {text}")
        return {}
    if text.startswith(UNSUPPORTED_START) or BLOCK_SCALAR.fullmatch(text):
        raise YamlSubsetError(f"unsupported YAML: {text}")
    if INTEGER.fullmatch(text):
        return int(text)
    return CORE_SCHEMA.get(text, text)


def _quoted(text: str) -> str:
    quote = text[0]
    if len(text) < len(quote * 2) or not text.endswith(quote):
        raise YamlSubsetError(f"unterminated quoted scalar: {text}")
    if quote == '"':
        return str(json.loads(text))
    return text[1:-1].replace("''", "'")


def _flow_sequence(text: str) -> list[Any]:
    if not text.endswith("]"):
        raise YamlSubsetError(f"unterminated flow sequence: {text}")
    inner = text[1:-1].strip()
    if any(c in inner for c in "[]{}"):
        raise YamlSubsetError(f"nested flow collections are not supported: {text}")
    if not inner:
        return []
    items = [item.strip() for item in inner.split(",")]
    if any(("'" in item or '"' in item) and not re.fullmatch(r"""(['"])[^'"]*\1""", item)
           for item in items):
        raise YamlSubsetError(f"quoted commas are not supported in flow sequences: {text}")
    return [scalar(item) for item in items]


class _Reader:
    def __init__(self, text: str) -> None:
        self.lines = text.expandtabs(8).splitlines()
        self.index = 0

    def peek(self) -> tuple[int, str] | None:
        """(indent, text without comment) of the next line with content; skips the others."""
        while self.index < len(self.lines):
            raw = self.lines[self.index]
            text = _strip_comment(raw).strip()
            if text:
                if text in {"---", "..."}:
                    raise YamlSubsetError(f"line {self.index + 1}: document markers")
                return len(raw) - len(raw.lstrip(" ")), text
            self.index += 1
        return None

    def document(self) -> Any:
        first = self.peek()
        if first is None:
            return None
        value = self.node(first[0])
        rest = self.peek()
        if rest is not None:
            raise YamlSubsetError(f"line {self.index + 1}: unexpected indentation")
        return value

    def node(self, indent: int) -> Any:
        line = self.peek()
        assert line is not None
        if _is_item(line[1]):
            return self.sequence(indent)
        if _split_key(line[1]) is None:
            raise YamlSubsetError(f"line {self.index + 1}: a multi-line plain scalar? {line[1]}")
        return self.mapping(indent)

    def mapping(self, indent: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while (line := self.peek()) is not None and line[0] == indent and not _is_item(line[1]):
            entry = _split_key(line[1])
            if entry is None:
                raise YamlSubsetError(f"line {self.index + 1}: expected `key: value`: {line[1]}")
            key, rest = entry
            if key in result:
                raise YamlSubsetError(f"line {self.index + 1}: duplicate key {key!r}")
            self.index += 1
            result[key] = self.value(rest, indent, in_mapping=True)
        if line is not None and line[0] > indent:
            raise YamlSubsetError(f"line {self.index + 1}: unexpected indentation")
        return result

    def sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while (line := self.peek()) is not None and line[0] == indent and _is_item(line[1]):
            content = line[1][1:].lstrip()
            if content and _split_key(content) is not None and not content.startswith(("[", "{")):
                # `- key: value`: a mapping whose keys line up with `key`.
                raw = self.lines[self.index]
                offset = len(raw) - len(raw.lstrip(" ")) + 1
                offset += len(raw) - offset - len(raw[offset:].lstrip(" "))
                self.lines[self.index] = " " * offset + raw[offset:]
                items.append(self.mapping(offset))
            else:
                self.index += 1
                items.append(self.value(content, indent, in_mapping=False))
        if line is not None and line[0] > indent:
            raise YamlSubsetError(f"line {self.index + 1}: unexpected indentation")
        return items

    def value(self, rest: str, indent: int, *, in_mapping: bool) -> Any:
        if BLOCK_SCALAR.fullmatch(rest):
            return self.block_scalar(rest, indent)
        if rest:
            return scalar(rest)
        line = self.peek()
        if line is None:
            return None
        if line[0] > indent or (in_mapping and line[0] == indent and _is_item(line[1])):
            return self.node(line[0])
        return None

    def block_scalar(self, header: str, indent: int) -> str:
        lines: list[str] = []
        block_indent: int | None = None
        while self.index < len(self.lines):
            raw = self.lines[self.index]
            if raw.strip():
                own = len(raw) - len(raw.lstrip(" "))
                if own <= indent:
                    break
                if block_indent is None:
                    block_indent = own
                if own < block_indent:
                    raise YamlSubsetError(f"line {self.index + 1}: block scalar indentation")
                lines.append(raw[block_indent:])
            else:
                lines.append("")
            self.index += 1
        while lines and not lines[-1]:
            lines.pop()
        if header.startswith(">"):
            text = re.sub(r"(?<!\n)\n(?!\n)", " ", "\n".join(lines))
            text = re.sub(r"\n\n", "\n", text)
        else:
            text = "\n".join(lines)
        if header.endswith("+"):
            raise YamlSubsetError("keep-chomping block scalars are not supported")
        return text if header.endswith("-") or not text else text + "\n"
