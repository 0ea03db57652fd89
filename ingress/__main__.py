"""``python -m ingress``: serve the event ingress with uvicorn.

Environment: RETAIL_INGRESS_HOST (127.0.0.1), RETAIL_INGRESS_PORT (8301),
TEMPORAL_ADDRESS (localhost:7233), TEMPORAL_NAMESPACE (default), RETAIL_INGRESS_LOG_LEVEL
(warning), and the payload codec keys (RETAIL_CODEC_KEYS, RETAIL_CODEC_KEY_FILE).
"""

from __future__ import annotations

import sys

import uvicorn

from common.codec import require_keyring
from ingress.app import create_app
from ingress.config import IngressConfig


def main() -> int:
    try:
        config = IngressConfig()
        require_keyring(who="the event ingress")  # it signals customer data: fail closed
    except ValueError as err:  # CodecKeyError is a ValueError
        print(f"ingress: {err}", file=sys.stderr)
        return 2
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
