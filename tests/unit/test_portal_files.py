"""The portal's files as shipped: what the CSP forbids is not in them, nothing is fetched
from another origin, every import resolves to a file, and the server's list of page URLs is
the client router's. (The vendored libraries are checked with the others, in
test_vendored_files.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.datastructures import Headers

from portal.files import STATIC, PortalFiles
from portal.serving import PAGE_SECTIONS, _accepts_gzip


def static_files(*suffixes: str) -> list[Path]:
    return [path for path in STATIC.rglob("*") if path.suffix in suffixes]


def own_modules() -> list[Path]:
    return [path for path in static_files(".js") if "vendor" not in path.parts]


def test_the_server_knows_every_section_the_router_draws() -> None:
    routes = (STATIC / "js/routes.js").read_text()
    paths = re.findall(r"path: '(/[^']*)'", routes)
    assert len(paths) >= 10
    assert {path.split("/")[1] for path in paths} == PAGE_SECTIONS


def test_no_inline_script_or_style_the_policy_would_block() -> None:
    page = (STATIC / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    for path in [STATIC / "index.html", *own_modules()]:
        text = path.read_text()
        assert not re.search(r"\sstyle=", text), f"{path.name}: a style attribute"
        assert not re.search(r"\son[a-z]+=\"", text), f"{path.name}: an inline handler"
        for forbidden in ("eval(", "new Function", "innerHTML"):
            assert forbidden not in text, f"{path.name}: {forbidden}"


def test_nothing_is_loaded_from_another_origin() -> None:
    for path in static_files(".js", ".css", ".html"):
        text = path.read_text()
        assert not re.search(r"""(from|import\(?)\s*["'](https?:)?//""", text), path.name
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), path.name
        assert not re.search(r"""(src|href)=["'](https?:)?//""", text), path.name


def test_modules_import_only_relative_paths() -> None:
    """No bare specifier: the browser could not resolve one without an import map."""
    for path in static_files(".js"):
        imports = re.findall(
            r"""\bimport\s*(?:[\w*{}\s,$]*?from\s*)?["']([^"']+)["']""", path.read_text()
        )
        for specifier in imports:
            assert specifier.startswith(("./", "../")), f"{path.name} imports {specifier}"
            assert (path.parent / specifier).resolve().is_file(), f"{path.name}: {specifier}"


def write_site(folder: Path, script: str) -> None:
    (folder / "js").mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(
        '<link href="{{static}}/app.css">{{preload}}<script type="module" src="{{static}}/js/a.js">'
    )
    (folder / "app.css").write_text("body{}")
    (folder / "js/a.js").write_text(script)
    (folder / ".hidden").write_text("never served")


def test_a_version_digest_names_every_asset_and_changes_with_any_file(tmp_path: Path) -> None:
    write_site(tmp_path, "console.log(1)")
    first = PortalFiles.load(tmp_path)
    page = first.index.body.decode()
    assert f'href="/static/{first.digest}/app.css"' in page
    assert f'<link rel="modulepreload" href="/static/{first.digest}/js/a.js">' in page
    assert "{{" not in page
    assert set(first.assets) == {"app.css", "js/a.js"}
    assert PortalFiles.load(tmp_path).digest == first.digest
    write_site(tmp_path, "console.log(2)")
    assert PortalFiles.load(tmp_path).digest != first.digest


def test_only_what_shrinks_is_gzipped(tmp_path: Path) -> None:
    write_site(tmp_path, "let x = 1;\n" * 200)
    files = PortalFiles.load(tmp_path)
    assert files.assets["js/a.js"].gzipped is not None
    assert files.assets["app.css"].gzipped is None  # too small to gain


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("GZIP; Q=0.000", False),
        ("identity", False),
        ("", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding(header: str, accepted: bool) -> None:
    assert _accepts_gzip(Headers({"accept-encoding": header})) is accepted
