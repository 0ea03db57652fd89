"""Payload encryption for Temporal: AES-256-GCM with the key id in each payload.

Every payload (workflow inputs, results, signals, updates, queries, activity arguments
and, through the failure converter, failure details) is serialized, then encrypted with
the *active* key; the payload's metadata names the key (`encryption-key-id`) so that
after a rotation old histories still decode with the older key, which stays in the
key ring.

Keys come from, in this order:
- `RETAIL_CODEC_KEYS`: either the key file's JSON document, or `id:base64key` pairs
  separated by commas (the last pair is the active key);
- the key file `common.config.codec_key_file()`: `RETAIL_CODEC_KEY_FILE`, else
  `codec-keys.json` in the devstack folder (`RETAIL_DEVSTACK_DIR`, else the project's
  `.devstack/`, whatever the current folder), a JSON document
  `{"active": "k-...", "keys": {"k-...": "<base64 32 bytes>", ...}}`
  (`python -m devstack up` creates it with `ensure_key_file`).

Fail closed: without any of them `require_keyring` raises `MissingCodecKey`, in one line
naming where it looked; the worker, the starter, the ingress and the codec server refuse to
start rather than write customer data into history in clear.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from common.config import CODEC_KEY_FILE_NAME, ENV_CODEC_KEY_FILE, codec_key_file

ENCODING = b"binary/encrypted"
CIPHER = b"AES-256-GCM"
KEY_ID_META = "encryption-key-id"
CIPHER_META = "encryption-cipher"
NONCE_BYTES = 12
KEY_BYTES = 32

ENV_KEYS = "RETAIL_CODEC_KEYS"
ENV_KEY_FILE = ENV_CODEC_KEY_FILE
DEFAULT_KEY_FILE = Path(".devstack") / CODEC_KEY_FILE_NAME
"""Relative form, for words only; the file is `common.config.codec_key_file()`."""


class CodecKeyError(ValueError):
    """The key configuration is unusable or a payload names a key we do not hold."""


class MissingCodecKey(CodecKeyError):
    """No codec key anywhere we look: a process handling customer data must not start."""


@dataclass(frozen=True)
class KeyRing:
    """All keys that may decode, and the one that encodes."""

    active: str
    keys: Mapping[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise CodecKeyError(f"the active key {self.active!r} is not among the keys")
        for key_id, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise CodecKeyError(
                    f"key {key_id!r} is {len(key)} bytes long; AES-256 needs {KEY_BYTES}"
                )

    def to_document(self) -> dict[str, object]:
        return {
            "active": self.active,
            "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
        }

    @classmethod
    def from_document(cls, document: object, *, source: str) -> KeyRing:
        if not isinstance(document, dict):
            raise CodecKeyError(f"{source}: expected a JSON object with 'active' and 'keys'")
        active = document.get("active")
        raw_keys = document.get("keys")
        if not isinstance(active, str) or not isinstance(raw_keys, dict) or not raw_keys:
            raise CodecKeyError(f"{source}: needs 'active' (a key id) and 'keys' (id -> base64)")
        return cls(
            active=active, keys={k: _b64(v, f"{source}: key {k!r}") for k, v in raw_keys.items()}
        )

    @classmethod
    def parse(cls, text: str, *, source: str) -> KeyRing:
        """The key file's JSON, or `id:base64,id:base64` (last one active)."""
        text = text.strip()
        if text.startswith("{"):
            try:
                document = json.loads(text)
            except json.JSONDecodeError as err:
                raise CodecKeyError(f"{source}: not valid JSON ({err.msg})") from None
            return cls.from_document(document, source=source)
        keys: dict[str, bytes] = {}
        active = ""
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key_id, sep, material = part.partition(":")
            if not sep or not key_id:
                raise CodecKeyError(f"{source}: {part[:8]}... is not id:base64key")
            keys[key_id] = _b64(material, f"{source}: key {key_id!r}")
            active = key_id
        if not keys:
            raise CodecKeyError(f"{source}: no keys given")
        return cls(active=active, keys=keys)


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise CodecKeyError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise CodecKeyError(f"{what} is not valid base64") from None


def new_key_id() -> str:
    return f"k-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def read_key_file(path: Path | str) -> KeyRing:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise CodecKeyError(f"codec key file {file} cannot be read: {err.strerror}") from None
    return KeyRing.parse(text, source=f"codec key file {file}")


def _write_key_file(path: Path, ring: KeyRing) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(ring.to_document(), out, indent=2)
        out.write("\n")
    os.replace(tmp, path)


def ensure_key_file(path: Path | str | None = None) -> Path:
    """Create `path` (default `codec_key_file()`) with one fresh active key unless it
    exists; return the path."""
    file = Path(path) if path is not None else codec_key_file()
    if file.exists():
        read_key_file(file)  # refuse early when it is unusable
        return file
    key_id = new_key_id()
    _write_key_file(file, KeyRing(active=key_id, keys={key_id: new_key()}))
    return file


def rotate_key_file(path: Path | str | None = None) -> str:
    """Add a fresh key to the file and make it active; old keys stay for decoding."""
    file = ensure_key_file(path)
    ring = read_key_file(file)
    key_id = new_key_id()
    while key_id in ring.keys:
        key_id = new_key_id()
    _write_key_file(file, KeyRing(active=key_id, keys={**ring.keys, key_id: new_key()}))
    return key_id


def keyring_from_env(environ: Mapping[str, str] | None = None) -> KeyRing | None:
    """The configured key ring, or None when no key is configured anywhere we look."""
    environ = dict(os.environ if environ is None else environ)
    inline = environ.get(ENV_KEYS, "").strip()
    if inline:
        return KeyRing.parse(inline, source=f"environment variable {ENV_KEYS}")
    path = environ.get(ENV_KEY_FILE, "").strip()
    if path:
        if not Path(path).exists():
            raise CodecKeyError(f"{ENV_KEY_FILE}={path}: no such file")
        return read_key_file(path)
    default = codec_key_file(environ)
    if default.exists():
        return read_key_file(default)
    return None


def where_keys_are_looked_for(environ: Mapping[str, str] | None = None) -> str:
    environ = dict(os.environ if environ is None else environ)
    return (
        f"looked in {ENV_KEYS} (unset), {ENV_KEY_FILE} (unset) and "
        f"{codec_key_file(environ)} (no such file)"
    )


def require_keyring(
    environ: Mapping[str, str] | None = None, *, who: str = "this process"
) -> KeyRing:
    """The configured key ring; `MissingCodecKey` (one line, where it looked) without one."""
    ring = keyring_from_env(environ)
    if ring is None:
        raise MissingCodecKey(
            f"{who} handles customer data and found no codec key, so it does not start: "
            f"{where_keys_are_looked_for(environ)}; run `python -m devstack up` (it creates "
            f"the key file) or set {ENV_KEYS} or {ENV_KEY_FILE}"
        )
    return ring


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the whole serialized payload; the key id travels in metadata."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    @property
    def ring(self) -> KeyRing:
        return self._ring

    @property
    def active_key_id(self) -> str:
        return self._ring.active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encode_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(p) for p in payloads]

    def encode_one(self, payload: Payload) -> Payload:
        key_id = self._ring.active
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={
                "encoding": ENCODING,
                KEY_ID_META: key_id.encode(),
                CIPHER_META: CIPHER,
            },
            data=nonce + sealed,
        )

    def decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_META, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecKeyError(
                f"payload was encrypted with key {key_id!r}, which is not in the key ring "
                f"(known: {', '.join(sorted(self._ciphers))})"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        decoded = Payload()
        decoded.ParseFromString(cipher.decrypt(nonce, sealed, key_id.encode()))
        return decoded


def codec_from_env(environ: Mapping[str, str] | None = None) -> EncryptionCodec | None:
    ring = keyring_from_env(environ)
    return EncryptionCodec(ring) if ring is not None else None


def required_codec(
    environ: Mapping[str, str] | None = None, *, who: str = "this process"
) -> EncryptionCodec:
    """The configured codec; `MissingCodecKey` without keys (fail closed, no clear text)."""
    return EncryptionCodec(require_keyring(environ, who=who))


def with_codec(base: DataConverter, codec: PayloadCodec | None) -> DataConverter:
    """`base` plus `codec`, encrypting failure messages and stack traces too."""
    if codec is None:
        return base
    return dataclasses.replace(
        base,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
