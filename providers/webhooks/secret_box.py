"""Webhook signing secrets at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

The key comes from `PAVED_WEBHOOK_ENCRYPTION_KEY` (a Fernet key: `Fernet.generate_key()`).
In development, when it is unset, a key is generated once into `<data dir>/webhook.key`
(mode 0600) and reused; production refuses to start without the setting (see
`api.bootstrap.webhook_secret_box`). The key is read on first use, not at start-up."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "webhook.key"


class SecretBox:
    """`key`: the Fernet key (ValueError when it is none); else one kept in `key_dir`; with
    neither, every use fails (a process that needs no webhook secrets)."""

    def __init__(self, key: bytes | None = None, key_dir: Path | None = None) -> None:
        self._key = key
        self._key_dir = key_dir
        self._fernet: Fernet | None = None if key is None else Fernet(key)
        self._lock = threading.Lock()

    def seal(self, secret: str) -> str:
        return self._cipher().encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._cipher().decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise ValueError(
                "a webhook secret does not decrypt: PAVED_WEBHOOK_ENCRYPTION_KEY changed?"
            ) from None

    def _cipher(self) -> Fernet:
        with self._lock:
            if self._fernet is None:
                self._fernet = Fernet(self._key if self._key is not None else self._kept_key())
            return self._fernet

    def _kept_key(self) -> bytes:
        if self._key_dir is None:
            raise RuntimeError("no PAVED_WEBHOOK_ENCRYPTION_KEY: webhook secrets are unavailable")
        path = self._key_dir / KEY_FILE
        try:
            return path.read_bytes().strip()
        except FileNotFoundError:
            pass
        self._key_dir.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first: use theirs
            return path.read_bytes().strip()
        with os.fdopen(descriptor, "wb") as file:
            file.write(key)
        return key
