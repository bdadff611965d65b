"""Hashed names, content negotiation and conditional requests of `api.static_assets`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from api.static_assets import StaticAssets, accepts_gzip, etag_matches, load_asset, media_type_of


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("GZIP", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("br", False),
        ("gzip;q=0", False),
        ("gzip; q=0.0", False),
        ("gzip;q=zero", False),
        ("x-gzip", False),
    ],
)
def test_accept_encoding(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


def test_if_none_match() -> None:
    assert etag_matches('"abc"', '"abc"')
    assert etag_matches('"x", W/"abc"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert not etag_matches("", '"abc"')
    assert not etag_matches('"abcd"', '"abc"')


def test_a_name_carries_its_content_hash(tmp_path: Path) -> None:
    (tmp_path / "vendor").mkdir()
    file = tmp_path / "vendor" / "lib.min.js"
    file.write_bytes(b"let a = 1;")
    digest = hashlib.sha256(b"let a = 1;").hexdigest()[:16]

    asset = load_asset(tmp_path, file)

    assert asset.path == "vendor/lib.min.js"
    assert asset.hashed_path == f"vendor/lib.min.{digest}.js"
    assert asset.etag == f'"{digest}"'
    assert asset.media_type == "text/javascript; charset=utf-8"


def test_hidden_files_are_not_served_and_unknown_paths_have_no_url(tmp_path: Path) -> None:
    (tmp_path / "app.js").write_text("1")
    (tmp_path / ".secret").write_text("key")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assets = StaticAssets(tmp_path, "/assets/")

    assert assets.url("app.js").startswith("/assets/app.")
    for hidden in (".secret", "__pycache__/x.pyc", "missing.js"):
        with pytest.raises(KeyError):
            assets.url(hidden)


def test_media_types() -> None:
    assert media_type_of("a.css") == "text/css; charset=utf-8"
    assert media_type_of("icon.svg") == "image/svg+xml"
    assert media_type_of("vendor/react.LICENSE") == "text/plain; charset=utf-8"
    assert media_type_of("LICENSE") == "application/octet-stream"
