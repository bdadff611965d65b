"""The login `paved login` stores: the API's URL and a token, in the user's config dir
(`typer.get_app_dir("paved")`: `$XDG_CONFIG_HOME/paved`, else `~/.config/paved`), the folder
readable by its owner only (0700) and the file too (0600). Written whole (a new file renamed
over the old one), so that a reader never sees half of it."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import orjson
import typer

LOGIN_FILE = "login.json"


@dataclass(frozen=True, slots=True)
class StoredLogin:
    api_url: str
    token: str | None


def login_path() -> Path:
    return Path(typer.get_app_dir("paved")) / LOGIN_FILE


def load_login() -> StoredLogin | None:
    """The stored login; None when there is none or it cannot be read as one."""
    try:
        stored = orjson.loads(login_path().read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(stored, dict) or not isinstance(stored.get("api_url"), str):
        return None
    token = stored.get("token")
    return StoredLogin(stored["api_url"], token if isinstance(token, str) and token else None)


def store_login(login: StoredLogin) -> Path:
    """Write `login` (readable by its owner only); its path."""
    path = login_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    body: dict[str, str] = {"api_url": login.api_url}
    if login.token is not None:
        body["token"] = login.token
    partial = path.with_name(f".{LOGIN_FILE}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return path
