"""The portal's static files, read once into memory with what serving them needs.

No build step: the files in `static/` are served as written. Their names carry no hash;
instead every asset is served under `/static/<digest>/`, the digest being of the whole
folder, so that a changed file changes every URL and assets may be cached for a year.
`index.html` (the one page, never cached without revalidation) names that prefix through
`{{static}}` and lists every module for preloading through `{{preload}}`.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).with_name("static")
INDEX = "index.html"
_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".license": "text/plain; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file as served: its bytes, gzipped bytes when that saves, type and ETag."""

    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str
    """Quoted, strong: the sha256 of the body (the gzipped form adds `-gz`)."""

    @classmethod
    def of(cls, body: bytes, media_type: str) -> Asset:
        gzipped = None
        if media_type.startswith(_COMPRESSIBLE) and len(body) > 256:
            packed = gzip.compress(body, compresslevel=9, mtime=0)
            gzipped = packed if len(packed) < len(body) else None
        return cls(body, gzipped, media_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def media_type_of(name: str) -> str:
    suffix = Path(name).suffix.lower()
    guessed = _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0]
    return guessed or "application/octet-stream"


@dataclass(frozen=True, slots=True)
class PortalFiles:
    digest: str
    """Of every file's path and content: the URL prefix of this version's assets."""
    assets: dict[str, Asset]
    """By path relative to the folder (`js/main.js`), index.html excepted."""
    index: Asset
    """index.html with its placeholders filled."""

    @property
    def prefix(self) -> str:
        return f"/static/{self.digest}/"

    @classmethod
    def load(cls, folder: Path = STATIC) -> PortalFiles:
        contents = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and not path.name.startswith(".")
        }
        template = contents.pop(INDEX).decode()
        hasher = hashlib.sha256()
        for name, body in contents.items():
            hasher.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
        digest = hasher.hexdigest()[:16]
        prefix = f"/static/{digest}/"
        modules = sorted(name for name in contents if name.endswith(".js"))
        preload = "\n    ".join(
            f'<link rel="modulepreload" href="{prefix}{name}">' for name in modules
        )
        page = template.replace("{{static}}", prefix.rstrip("/")).replace("{{preload}}", preload)
        assets = {name: Asset.of(body, media_type_of(name)) for name, body in contents.items()}
        return cls(digest, assets, Asset.of(page.encode(), media_type_of(INDEX)))
