"""The remote codec server: lets the Temporal UI (and `temporal` CLI) read encrypted payloads.

Temporal's remote codec protocol: `POST .../encode` and `POST .../decode` with a JSON
body `{"payloads": [...]}` (Payload protobufs in proto3 JSON); only the last part of
the path counts, so `/default/decode` works as well as `/decode`. The UI calls it from
the browser, so the UI's origin must be allowed by CORS.

    python -m devstack.codec_server --port 8081 [--origin http://localhost:8233]
    python -m devstack.codec_server --rotate-key     # new active key, old ones kept

Then start the dev server with `--ui-codec-endpoint http://127.0.0.1:8081`, or set it in
the UI under "Data Encoder" (the settings icon, top right). Optional: with
`RETAIL_CODEC_AUTH_TOKEN` set, requests must carry `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from common.codec import (
    CodecKeyError,
    EncryptionCodec,
    required_codec,
    rotate_key_file,
)
from common.config import codec_key_file

DEFAULT_PORT = 8081
ENV_ORIGINS = "RETAIL_CODEC_CORS_ORIGINS"
ENV_TOKEN = "RETAIL_CODEC_AUTH_TOKEN"
DEFAULT_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")


def origins_from_env() -> list[str]:
    raw = os.environ.get(ENV_ORIGINS, "").strip()
    if not raw:
        return list(DEFAULT_ORIGINS)
    return [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]


def build_app(
    codec: EncryptionCodec | None = None,
    *,
    origins: Sequence[str] | None = None,
    token: str | None = None,
) -> FastAPI:
    """The codec app; `codec` defaults to the configured keys (which must exist)."""
    if codec is None:
        codec = required_codec(who="the codec server")
    token = token if token is not None else (os.environ.get(ENV_TOKEN, "").strip() or None)
    active_codec = codec

    app = FastAPI(title="retail-ops codec server", docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins if origins is not None else origins_from_env()),
        allow_credentials=True,
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["content-type", "x-namespace", "authorization"],
    )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "active_key": active_codec.active_key_id}

    @app.post("/{path:path}")
    async def transform(path: str, request: Request) -> Response:
        action = path.rstrip("/").rsplit("/", 1)[-1]
        if action not in ("encode", "decode"):
            return JSONResponse({"error": f"unknown endpoint /{path}"}, status_code=404)
        if token and request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        body = await request.body()
        payloads = Payloads()
        try:
            json_format.Parse(body, payloads)
        except json_format.ParseError as err:
            return JSONResponse(
                {"error": f"body is not a Payloads JSON document: {err}"}, status_code=400
            )
        try:
            if action == "encode":
                result = await active_codec.encode(payloads.payloads)
            else:
                result = await active_codec.decode(payloads.payloads)
        except CodecKeyError as err:
            return JSONResponse({"error": str(err)}, status_code=422)
        except Exception as err:  # a tampered or truncated payload
            return JSONResponse(
                {"error": f"cannot {action}: {type(err).__name__}"}, status_code=422
            )
        return Response(
            json_format.MessageToJson(Payloads(payloads=result)),
            media_type="application/json",
        )

    return app


def serve(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, origins: Sequence[str] | None = None
) -> None:
    """Run the codec server in the foreground (Ctrl-C stops it)."""
    import uvicorn

    uvicorn.run(build_app(origins=origins), host=host, port=port, log_level="warning")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.codec_server",
        description="Serve /encode and /decode for the Temporal UI and CLI, or rotate the key.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--origin",
        action="append",
        help=f"a UI origin allowed by CORS (repeatable; default {', '.join(DEFAULT_ORIGINS)} "
        f"or {ENV_ORIGINS})",
    )
    parser.add_argument(
        "--rotate-key",
        action="store_true",
        help="add a fresh active key to the key file (old keys stay for decoding) and exit",
    )
    args = parser.parse_args(argv)
    try:
        if args.rotate_key:
            path = codec_key_file()
            key_id = rotate_key_file(path)
            print(f"{path}: new active key {key_id}; restart the worker, starter and codec server")
            return
        serve(args.host, args.port, origins=args.origin)
    except CodecKeyError as err:
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    main()
