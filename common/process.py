"""Leaving a process that used the Temporal SDK."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_now(code: object) -> NoReturn:
    """Flush and leave without interpreter finalization.

    The SDK's native runtime keeps threads that can abort the interpreter while it
    finalizes (seen here after a failed connect: SIGABRT instead of our exit code), so the
    process leaves with the code it chose once everything it wrote is flushed.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def run_and_exit(main: object) -> NoReturn:
    """Call `main()` (which may raise SystemExit) and leave with its code.

    A missing or unusable codec key ends the process in one line (exit 2): a starter
    without keys must not write customer data into history in clear."""
    from common.codec import CodecKeyError
    from common.config import ConfigError

    try:
        code = main()  # type: ignore[operator]
    except SystemExit as stop:
        code = stop.code
    except (CodecKeyError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        code = 2
    exit_now(code)
