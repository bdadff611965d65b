"""Where a provider setting may take a secret from: the allow-list.

Settings name secrets, never hold them: an environment variable (`tokenEnv`, `secretEnv`,
`kubeconfigEnv`) or a file (`tokenFile`, `kubeconfigFile`). Only two sources are allowed:

- environment variables whose name starts with `PAVED_SECRET_`, so a setting cannot read
  `DATABASE_URL` or any other variable of the server;
- files under `directory` (`PAVED_SECRETS_DIR`), after resolving `..` and symlinks, so a path
  cannot escape it; with no directory configured, no file may be named.

Both are checked when settings are saved (`env_name()`, `file_path()`: a `ValueError` whose
message names the rule) and again at each read, since a symlink may change after that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SECRET_ENV_PREFIX: Final = "PAVED_SECRET_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True, slots=True)
class SecretSources:
    directory: Path | None = None
    """`PAVED_SECRETS_DIR`: files under it may be named; None: no file may be."""

    def env_name(self, name: str) -> str:
        """`name` if it may be read; `ValueError` otherwise."""
        if not name.startswith(SECRET_ENV_PREFIX) or name == SECRET_ENV_PREFIX:
            raise ValueError(f"must name an environment variable starting with {SECRET_ENV_PREFIX}")
        return name

    def file_path(self, path: str) -> Path:
        """Where `path` leads (`..` and symlinks resolved) if that is under `directory`;
        `ValueError` otherwise. The file need not exist yet."""
        if self.directory is None:
            raise ValueError("no file may be named: PAVED_SECRETS_DIR is not set")
        base = Path(os.path.realpath(self.directory))
        resolved = Path(os.path.realpath(path))
        if resolved == base or not resolved.is_relative_to(base):
            raise ValueError("must be a file under PAVED_SECRETS_DIR (after resolving symlinks)")
        return resolved

    def read_env(self, name: str) -> str:
        """The variable's value; empty when unset. `ValueError` if not allowed."""
        return os.environ.get(self.env_name(name), "")

    def read_file(self, path: str) -> str:
        """The file's text (UTF-8). `ValueError` if not allowed (any more); `OSError` or
        `UnicodeDecodeError` when it cannot be read."""
        with open(self.file_path(path), encoding="utf-8") as file:
            return file.read()
