"""DSSE envelopes (v1): the pre-authentication encoding, the envelope read strictly, the lines
of an `.intoto.jsonl` file.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from action.errors import VerificationError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["DsseSignature", "Envelope", "SignedStatement", "pae", "read_envelopes"]


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True, slots=True)
class DsseSignature:
    keyid: str
    sig: bytes


@dataclass(frozen=True, slots=True)
class Envelope:
    """A DSSE envelope; one per line of an `.intoto.jsonl` file."""

    payload: bytes
    payload_type: str
    signatures: tuple[DsseSignature, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "payload": _b64(self.payload),
            "payloadType": self.payload_type,
            "signatures": [{"keyid": s.keyid, "sig": _b64(s.sig)} for s in self.signatures],
        }

    def to_line(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Any) -> Envelope:
        """Read an envelope strictly: any malformed part is a VerificationError."""
        try:
            return cls(
                payload=_unb64(data["payload"], "payload"),
                payload_type=_text(data["payloadType"], "payloadType"),
                signatures=tuple(_signature(s) for s in data["signatures"]),
            )
        except (KeyError, TypeError) as exc:
            raise VerificationError(f"malformed DSSE envelope: missing or wrong {exc}") from exc

    @classmethod
    def from_line(cls, line: bytes | str) -> Envelope:
        try:
            data = json.loads(line, object_pairs_hook=_no_duplicate_keys)
        except ValueError as exc:
            raise VerificationError(f"a provenance line is not JSON: {exc}") from exc
        except RecursionError:
            raise VerificationError("a provenance line is JSON nested too deeply") from None
        return cls.from_json(data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, what: str) -> bytes:
    """Standard base64 in its one canonical spelling (no ignored bits, no stray characters)."""
    if not isinstance(text, str):
        raise VerificationError(f"malformed DSSE envelope: {what} is not a string")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"malformed DSSE envelope: {what} is not base64") from exc
    if _b64(data) != text:
        raise VerificationError(f"malformed DSSE envelope: {what} is not canonical base64")
    return data


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise VerificationError(f"malformed DSSE envelope: {what} is not a string")
    return value


def _signature(data: Any) -> DsseSignature:
    keyid = _text(data.get("keyid", ""), "keyid")
    return DsseSignature(keyid=keyid, sig=_unb64(data["sig"], "sig"))


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys in {keys}")
    return dict(pairs)



@dataclass(frozen=True, slots=True)
class SignedStatement:
    """A signed statement: the envelope, and for keyless signing the Sigstore bundle (JSON)."""

    envelope: Envelope
    bundle_json: str | None = None



def read_envelopes(path: Path) -> list[Envelope]:
    try:
        lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    except OSError as exc:
        raise VerificationError(f"the provenance {path} cannot be read: {exc}") from exc
    if not lines:
        raise VerificationError(f"the provenance {path.name} holds no envelope")
    envelopes = []
    for number, line in enumerate(lines, start=1):
        try:
            envelopes.append(Envelope.from_line(line))
        except VerificationError as exc:
            raise VerificationError(f"{path.name}, line {number}: {exc.message}",
                                    hint=exc.hint) from None
    return envelopes
