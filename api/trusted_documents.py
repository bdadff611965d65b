"""Trusted documents: the operations clients registered at build time, by sha256 id.

The file `PAVED_TRUSTED_DOCUMENTS` names is a JSON object mapping `sha256:<hex>` to the
document text, the hex being the SHA-256 of the text's UTF-8 bytes (`paved documents hash`
writes it). Requests may then send `documentId` instead of `query`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

SETTING = "PAVED_TRUSTED_DOCUMENTS"
_DOCUMENT_ID = re.compile(r"sha256:[0-9a-f]{64}")


class TrustedDocumentsError(Exception):
    """One line naming the setting, for start-up to report."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid setting {SETTING}: {reason}")


def document_id(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TrustedDocuments:
    by_id: Mapping[str, str]

    def text(self, document_id: str) -> str | None:
        return self.by_id.get(document_id)

    def trusts(self, query: str) -> bool:
        return document_id(query) in self.by_id


def load_trusted_documents(path: Path) -> TrustedDocuments:
    try:
        raw = orjson.loads(path.read_bytes())
    except OSError as error:
        raise TrustedDocumentsError(f"cannot read {path}: {error.strerror}") from None
    except orjson.JSONDecodeError as error:
        raise TrustedDocumentsError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise TrustedDocumentsError(f"{path} must hold a JSON object of id -> document")
    for key, text in raw.items():
        if not _DOCUMENT_ID.fullmatch(key):
            raise TrustedDocumentsError(f"{path}: {key!r} is not a sha256:<64 hex digits> id")
        if not isinstance(text, str):
            raise TrustedDocumentsError(f"{path}: the document of {key} is not a string")
        if document_id(text) != key:
            raise TrustedDocumentsError(f"{path}: {key} is not the sha256 of its document")
    return TrustedDocuments(raw)


def manifest(paths: Iterable[Path]) -> dict[str, str]:
    """The trusted-documents map of these files, each hashed exactly as stored."""
    documents: dict[str, str] = {}
    for path in paths:
        text = path.read_bytes().decode()
        documents[document_id(text)] = text
    return documents
