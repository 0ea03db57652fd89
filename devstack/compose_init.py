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
    if not parse_env(env_path.read_text()).get(INBOX_KEY_VARIABLE):
        inbox_key = new_inbox_key(keys_dir)
        text = env_path.read_text().replace(
            f"{INBOX_KEY_VARIABLE}=\n", f"{INBOX_KEY_VARIABLE}=/keys/{inbox_key.name}\n"
        )
        env_path.write_text(text)
        created.append(INBOX_KEY_VARIABLE)
    return ComposeFiles(env_path, key_file, tuple(created))


INBOX_KEY_VARIABLE = "RETAIL_INBOX_KEY"


def new_inbox_key(keys_dir: Path) -> Path:
    """The compose inbox's own issuer key (its public half goes into deploy/policy's trust:
    `python starter.py keys show PATH` prints the entry)."""
    from cli.keys import new_key

    path, _ = new_key(keys_dir, person=None, issuer="inbox")
    return path
