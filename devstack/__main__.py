"""`python -m devstack up | down | status | compose-init`."""

from __future__ import annotations

import sys

from common.process import exit_now
from devstack.cli import main

if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
