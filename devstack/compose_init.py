"""`python -m devstack compose-init`: what docker-compose.yml needs before its first `up`.

Writes `.env` from `.env.example` (fresh random secrets for the empty ones, the key folder
as an absolute path) and creates the payload key file in that folder (`deploy/keys/` unless
CODEC_KEYS_DIR says otherwise); the folder is the `codec-keys` volume of the compose stack.
Run again, it keeps every value already in `.env` and the existing keys: a database
password that changed after the first start would lock the stack out of its own data.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from common.codec import ensure_key_file
from common.config import CODEC_KEY_FILE_NAME, project_root

SECRET_SUFFIXES = ("_PASSWORD", "_SECRET", "_TOKEN")
KEYS_DIR_VARIABLE = "CODEC_KEYS_DIR"


@dataclass(frozen=True)
class ComposeFiles:
    env_file: Path
    key_file: Path
    created: tuple[str, ...]
    """Variables given a value this time (secrets generated, key folder filled in)."""


def parse_env(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


def compose_init(root: Path | None = None) -> ComposeFiles:
    root = root or project_root()
    example = (root / ".env.example").read_text()
    env_path = root / ".env"
    existing = parse_env(env_path.read_text()) if env_path.exists() else {}
    created: list[str] = []
    lines: list[str] = []
    for line in example.splitlines():
        name, sep, default = line.partition("=")
        name = name.strip()
        if not sep or line.lstrip().startswith("#"):
            lines.append(line)
            continue
        value = existing.get(name) or default.strip()
        if not value and name == KEYS_DIR_VARIABLE:
            value = str((root / "deploy" / "keys").resolve())
            created.append(name)
        elif not value and name.endswith(SECRET_SUFFIXES):
            value = secrets.token_hex(24)
            created.append(name)
        lines.append(f"{name}={value}")
    for name, value in existing.items():  # variables the operator added stay
        if name not in parse_env(example):
            lines.append(f"{name}={value}")
    env_path.write_text("\n".join(lines) + "\n")
    env_path.chmod(0o600)
    keys_dir = Path(parse_env(env_path.read_text())[KEYS_DIR_VARIABLE])
    keys_dir.mkdir(parents=True, exist_ok=True)
    key_file = ensure_key_file(keys_dir / CODEC_KEY_FILE_NAME)
    return ComposeFiles(env_path, key_file, tuple(created))
