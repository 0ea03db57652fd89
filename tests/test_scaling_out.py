"""Workers against a Temporal cluster or Temporal Cloud: mutual TLS or an API key, and the
namespace, from the environment; the client options `connect` builds from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.service import TLSConfig

from common import temporal
from common.codec import ensure_key_file
from common.config import Settings
from common.temporal import client_options, describe_security

TLS_VARIABLES = (
    "TEMPORAL_TLS_CERT",
    "TEMPORAL_TLS_KEY",
    "TEMPORAL_TLS_CA",
    "TEMPORAL_TLS_SERVER_NAME",
    "TEMPORAL_TLS",
    "TEMPORAL_API_KEY",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in TLS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "retail.a1b2c.tmprl.cloud:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "retail.a1b2c")
    return monkeypatch


def _pem(path: Path, label: str) -> Path:
    path.write_bytes(f"-----BEGIN {label}-----\n{label.lower()}\n-----END {label}-----\n".encode())
    return path


def test_without_credentials_the_connection_is_plain(clean_env: pytest.MonkeyPatch) -> None:
    options = client_options(Settings.from_env())
    assert options == {
        "target_host": "retail.a1b2c.tmprl.cloud:7233",
        "namespace": "retail.a1b2c",
        "tls": False,
    }
    assert describe_security(Settings.from_env()) == "plain gRPC"


def test_client_certificate_key_and_ca_are_read_from_their_files(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert = _pem(tmp_path / "client.pem", "CERTIFICATE")
    key = _pem(tmp_path / "client.key", "PRIVATE KEY")
    ca = _pem(tmp_path / "ca.pem", "CA CERTIFICATE")
    clean_env.setenv("TEMPORAL_TLS_CERT", str(cert))
    clean_env.setenv("TEMPORAL_TLS_KEY", str(key))
    clean_env.setenv("TEMPORAL_TLS_CA", str(ca))
    clean_env.setenv("TEMPORAL_TLS_SERVER_NAME", "frontend.temporal.internal")
    options = client_options(Settings.from_env())
    tls = options["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == cert.read_bytes()
    assert tls.client_private_key == key.read_bytes()
    assert tls.server_root_ca_cert == ca.read_bytes()
    assert tls.domain == "frontend.temporal.internal"
    assert "api_key" not in options
    assert options["namespace"] == "retail.a1b2c"
    assert describe_security(Settings.from_env()).startswith("mutual TLS")


def test_a_client_certificate_without_its_key_is_refused(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("TEMPORAL_TLS_CERT", str(_pem(tmp_path / "client.pem", "CERTIFICATE")))
    with pytest.raises(ValueError, match="TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together"):
        Settings.from_env()


def test_an_unreadable_certificate_names_its_variable(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("TEMPORAL_TLS_CERT", str(tmp_path / "missing.pem"))
    clean_env.setenv("TEMPORAL_TLS_KEY", str(tmp_path / "missing.key"))
    with pytest.raises(ValueError, match=r"TEMPORAL_TLS_CERT=.*missing\.pem: cannot read"):
        client_options(Settings.from_env())


def test_an_api_key_goes_over_tls(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TEMPORAL_API_KEY", "cloud-api-key-123")
    settings = Settings.from_env()
    assert "cloud-api-key-123" not in repr(settings)  # never in logs
    options = client_options(settings)
    assert options["api_key"] == "cloud-api-key-123"
    assert options["tls"] is True
    assert "cloud-api-key-123" not in describe_security(settings)


def test_tls_with_the_system_roots_only(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TEMPORAL_TLS", "true")
    assert client_options(Settings.from_env())["tls"] is True
    clean_env.setenv("TEMPORAL_TLS", "maybe")
    with pytest.raises(ValueError, match="TEMPORAL_TLS='maybe'"):
        Settings.from_env()


async def test_connect_passes_the_options_with_the_converter_and_tracing(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the worker (`worker.run` -> `connect`) hands to `Client.connect`."""
    clean_env.setenv("RETAIL_CODEC_KEY_FILE", str(ensure_key_file(tmp_path / "keys.json")))
    clean_env.delenv("RETAIL_CODEC_KEYS", raising=False)
    clean_env.setenv("TEMPORAL_API_KEY", "cloud-api-key-123")
    seen: dict[str, Any] = {}

    async def fake_connect(target_host: str, **kwargs: Any) -> Client:
        seen.update(kwargs, target_host=target_host)
        return object()  # type: ignore[return-value]

    clean_env.setattr(temporal.Client, "connect", fake_connect)
    await temporal.connect(Settings.from_env(), service_name="retail-worker")
    assert seen["target_host"] == "retail.a1b2c.tmprl.cloud:7233"
    assert seen["namespace"] == "retail.a1b2c"
    assert seen["api_key"] == "cloud-api-key-123" and seen["tls"] is True
    assert seen["data_converter"].payload_codec is not None
    assert any(isinstance(i, TracingInterceptor) for i in seen["interceptors"])
