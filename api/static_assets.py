"""Files shipped in the package, served under names that carry their content's hash.

`StaticAssets(folder, prefix)` serves every file of `folder` (subfolders too) at
`<prefix>/<folder path>/<stem>.<hash><suffix>`; `url("vendor/react.js")` is that address. An
address changes whenever its content does, so answers are cacheable forever (`immutable`) and
a new release is never mixed with an old one from a browser's cache; unhashed or stale names
are 404. Answers carry an ETag (a conditional request gets 304) and are gzipped for clients
that accept it (compressed once, on first demand, off the event loop). Nothing is read from
disk until the first address is asked for; a request path is only ever looked up in the
index, never joined to a file path.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_HASH_LENGTH = 16
_MIN_COMPRESSED_SIZE = 1024
_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".license": "text/plain; charset=utf-8",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    path: str
    """Relative to the folder, with `/`: `vendor/react.production.min.js`."""
    hashed_path: str
    """The same with the content's hash: `vendor/react.production.min.3f0c5e9b21a4d7c8.js`."""
    body: bytes
    media_type: str
    etag: str

    @property
    def compressible(self) -> bool:
        return len(self.body) >= _MIN_COMPRESSED_SIZE and self.media_type.startswith(_COMPRESSIBLE)


def media_type_of(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    return _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def load_asset(folder: Path, file: Path) -> Asset:
    body = file.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:_HASH_LENGTH]
    relative = PurePosixPath(file.relative_to(folder).as_posix())
    hashed = relative.with_name(f"{relative.stem}.{digest}{relative.suffix}")
    return Asset(str(relative), str(hashed), body, media_type_of(str(relative)), f'"{digest}"')


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether `Accept-Encoding` admits gzip (named or `*`, with a q-value above 0)."""
    for item in accept_encoding.split(","):
        coding, _, parameters = item.partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = parameters.strip().lower()
        if not quality.startswith("q="):
            return True
        try:
            return float(quality[2:]) > 0
        except ValueError:
            return False
    return False


def etag_matches(if_none_match: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


class StaticAssets:
    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder = folder
        self.prefix = prefix.rstrip("/")
        self._by_path: dict[str, Asset] | None = None
        self._by_hashed_path: dict[str, Asset] = {}
        self._gzipped: dict[str, bytes] = {}

    def url(self, path: str) -> str:
        """The address of the file `path` (relative to the folder); KeyError if none."""
        return f"{self.prefix}/{self._index()[path].hashed_path}"

    def route(self) -> Route:
        return Route(f"{self.prefix}/{{path:path}}", self.serve, methods=["GET", "HEAD"])

    async def serve(self, request: Request) -> Response:
        self._index()
        asset = self._by_hashed_path.get(request.path_params["path"])
        if asset is None:
            return Response(
                "Not Found", 404, media_type="text/plain", headers={"Cache-Control": "no-store"}
            )
        headers = {
            "Cache-Control": IMMUTABLE,
            "ETag": asset.etag,
            "X-Content-Type-Options": "nosniff",
        }
        if asset.compressible:
            headers["Vary"] = "Accept-Encoding"
        if etag_matches(request.headers.get("if-none-match", ""), asset.etag):
            return Response(status_code=304, headers=headers)
        body = asset.body
        if asset.compressible and accepts_gzip(request.headers.get("accept-encoding", "")):
            body = await self._gzipped_body(asset)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=asset.media_type, headers=headers)

    def _index(self) -> dict[str, Asset]:
        if self._by_path is None:
            assets = [
                load_asset(self.folder, file)
                for file in sorted(self.folder.rglob("*"))
                if file.is_file() and not _hidden(file.relative_to(self.folder))
            ]
            self._by_hashed_path = {asset.hashed_path: asset for asset in assets}
            self._by_path = {asset.path: asset for asset in assets}
        return self._by_path

    async def _gzipped_body(self, asset: Asset) -> bytes:
        compressed = self._gzipped.get(asset.path)
        if compressed is None:
            compressed = await asyncio.to_thread(gzip.compress, asset.body, 6, mtime=0)
            self._gzipped[asset.path] = compressed
        return compressed


def _hidden(relative: Path) -> bool:
    return any(part.startswith((".", "__")) for part in relative.parts)
