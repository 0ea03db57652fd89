"""The payload codec: AES-GCM with the key id in metadata, key files, rotation, server."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes

from common.codec import (
    ENV_KEY_FILE,
    ENV_KEYS,
    KEY_ID_META,
    CodecKeyError,
    EncryptionCodec,
    KeyRing,
    MissingCodecKey,
    codec_from_env,
    ensure_key_file,
    keyring_from_env,
    new_key,
    read_key_file,
    rotate_key_file,
)
from common.config import codec_key_file
from common.temporal import data_converter
from devstack.codec_server import build_app

SECRET = b'{"email":"ada@example.com"}'


def plain(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def ring(*ids: str) -> KeyRing:
    return KeyRing(active=ids[-1], keys={i: bytes([n]) * 32 for n, i in enumerate(ids, 1)})


async def test_round_trip_hides_the_data_and_names_the_key() -> None:
    codec = EncryptionCodec(ring("k1"))
    (sealed,) = await codec.encode([plain()])
    assert b"ada@example.com" not in sealed.SerializeToString()
    assert sealed.metadata[KEY_ID_META] == b"k1"
    (opened,) = await codec.decode([sealed])
    assert opened == plain()
    # payloads that were never encrypted pass through untouched
    assert await codec.decode([plain()]) == [plain()]


async def test_rotation_still_decodes_old_payloads() -> None:
    (old,) = await EncryptionCodec(ring("k1")).encode([plain()])
    rotated = EncryptionCodec(ring("k1", "k2"))
    (new,) = await rotated.encode([plain()])
    assert new.metadata[KEY_ID_META] == b"k2"
    assert await rotated.decode([old, new]) == [plain(), plain()]
    with pytest.raises(CodecKeyError, match="'k1', which is not in the key ring"):
        await EncryptionCodec(ring("k2")).decode([old])


async def test_tampered_payload_is_refused() -> None:
    codec = EncryptionCodec(ring("k1"))
    (sealed,) = await codec.encode([plain()])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(InvalidTag):
        await codec.decode([sealed])


def test_key_file_is_created_private_and_rotates(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "codec-keys.json"
    assert ensure_key_file(path) == path
    first = read_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ensure_key_file(path) == path and read_key_file(path) == first  # kept as is
    new_id = rotate_key_file(path)
    after = read_key_file(path)
    assert after.active == new_id != first.active
    assert after.keys[first.active] == first.keys[first.active]


def test_keys_from_environment_inline_json_and_file(tmp_path: Path) -> None:
    k1, k2 = (base64.b64encode(new_key()).decode() for _ in range(2))
    inline = keyring_from_env({ENV_KEYS: f"a:{k1},b:{k2}"})
    assert inline is not None and inline.active == "b" and set(inline.keys) == {"a", "b"}
    as_json = keyring_from_env({ENV_KEYS: json.dumps({"active": "a", "keys": {"a": k1}})})
    assert as_json is not None and as_json.active == "a"
    path = ensure_key_file(tmp_path / "k.json")
    from_file = keyring_from_env({ENV_KEY_FILE: str(path)})
    assert from_file == read_key_file(path)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({ENV_KEYS: "a:not-base64!"}, "not valid base64"),
        ({ENV_KEYS: "a:" + base64.b64encode(b"short").decode()}, "AES-256 needs 32"),
        ({ENV_KEYS: "{broken"}, "not valid JSON"),
        ({ENV_KEY_FILE: "missing.json"}, "no such file"),
    ],
)
def test_bad_key_configuration_says_why(env: dict[str, str], message: str) -> None:
    with pytest.raises(CodecKeyError, match=message):
        keyring_from_env(env)


def test_data_converter_refuses_without_keys_and_names_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed: no clear-text fallback. The key file is found from any folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_KEYS, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    monkeypatch.setenv("RETAIL_DEVSTACK_DIR", str(tmp_path / "state"))
    assert codec_from_env() is None
    with pytest.raises(MissingCodecKey) as refused:
        data_converter()
    words = str(refused.value)
    assert "\n" not in words
    assert ENV_KEYS in words and ENV_KEY_FILE in words
    assert str(tmp_path / "state" / "codec-keys.json") in words
    ensure_key_file(codec_key_file())  # what `devstack up` does, in the same place
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    converter = data_converter()
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
    assert converter is not pydantic_data_converter


def _body(*payloads: Payload) -> str:
    return json_format.MessageToJson(Payloads(payloads=list(payloads)))


async def test_codec_server_decodes_and_encodes_with_cors() -> None:
    codec = EncryptionCodec(ring("k1", "k2"))
    (sealed,) = await EncryptionCodec(ring("k1")).encode([plain()])
    app = build_app(codec, origins=["http://localhost:8233"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as http:
        headers = {"Origin": "http://localhost:8233", "X-Namespace": "default"}
        decoded = await http.post("/default/decode", content=_body(sealed), headers=headers)
        assert decoded.status_code == 200
        assert decoded.headers["access-control-allow-origin"] == "http://localhost:8233"
        payloads = json_format.Parse(decoded.text, Payloads())
        assert payloads.payloads[0].data == SECRET

        encoded = await http.post("/encode", content=_body(plain()))
        back = json_format.Parse(encoded.text, Payloads()).payloads[0]
        assert back.metadata[KEY_ID_META] == b"k2" and SECRET not in back.data

        preflight = await http.options(
            "/decode",
            headers={
                "Origin": "http://localhost:8233",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        assert preflight.status_code == 200
        stranger = await http.options(
            "/decode",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in stranger.headers

        bad = await http.post("/decode", content="{not json")
        assert bad.status_code == 400 and "Payloads" in bad.json()["error"]
        unknown = await http.post("/decode", content=_body(sealed), headers=headers)
        assert unknown.status_code == 200
        assert (await http.post("/nothing", content="{}")).status_code == 404


async def test_codec_server_refuses_unknown_key_and_missing_token() -> None:
    (sealed,) = await EncryptionCodec(ring("k0")).encode([plain()])
    app = build_app(EncryptionCodec(ring("k1")), origins=[], token="s3cret")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as http:
        assert (await http.post("/decode", content=_body(sealed))).status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        refused = await http.post("/decode", content=_body(sealed), headers=auth)
        assert refused.status_code == 422 and "k0" in refused.json()["error"]


def test_codec_server_without_keys_says_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_KEYS, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    with pytest.raises(CodecKeyError, match="devstack up"):
        build_app()


def test_codec_server_runs_as_a_module_and_stops_by_pid(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    keys = ensure_key_file(tmp_path / "keys.json")
    env = {**os.environ, ENV_KEY_FILE: str(keys), "PYTHONPATH": str(Path.cwd())}
    env.pop(ENV_KEYS, None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.codec_server",
            "--port",
            str(port),
            "--origin",
            "http://ui.example:8233",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # readiness: the port answers
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "codec server did not start in 30 s"
                time.sleep(0.1)
        assert health.json()["active_key"] == read_key_file(keys).active
        preflight = httpx.options(
            f"http://127.0.0.1:{port}/default/decode",
            headers={"Origin": "http://ui.example:8233", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers["access-control-allow-origin"] == "http://ui.example:8233"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_codec_server_module_without_keys_exits_with_the_reason(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in (ENV_KEYS, ENV_KEY_FILE)}
    env["PYTHONPATH"] = str(Path.cwd())
    env["RETAIL_DEVSTACK_DIR"] = str(tmp_path / "state")
    done = subprocess.run(
        [sys.executable, "-m", "devstack.codec_server", "--port", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "found no codec key" in done.stderr


def test_rotate_key_from_the_command_line_keeps_old_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from devstack.codec_server import main

    path = ensure_key_file(tmp_path / "keys.json")
    before = read_key_file(path)
    monkeypatch.setenv(ENV_KEY_FILE, str(path))
    main(["--rotate-key"])
    after = read_key_file(path)
    assert after.active != before.active and before.active in after.keys
    assert f"new active key {after.active}" in capsys.readouterr().out
