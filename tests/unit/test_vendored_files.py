"""The vendored browser files are the pinned ones, and `tools/vendor.py` refuses a package
that is not what its pins say. Refreshes here use tarballs built by the test, not npm."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tools import vendor
from tools.vendor import Manifest, VendoredPackage, VendorError

SCRIPT = b"window.widget = 1;\n"
LICENCE = b"MIT License\n"


def tarball(
    folder: Path,
    meta: dict[str, Any] | None = None,
    files: dict[str, bytes] | None = None,
    links: dict[str, str] | None = None,
) -> Path:
    """A registry-like tarball: everything under `package/`."""
    meta = meta or {"name": "widget", "version": "1.0.0", "license": "MIT"}
    files = {"package.json": json.dumps(meta).encode(), **(files or {})}
    path = folder / "widget-1.0.0.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(f"package/{name}")
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return path


def project(root: Path) -> Path:
    (root / "vendor.json").write_text(
        json.dumps(
            {
                "about": "test",
                "packages": [
                    {
                        "package": "widget",
                        "version": "1.0.0",
                        "license": "MIT",
                        "for": "a test",
                        "files": [
                            {"from": "dist/widget.js", "to": "static/widget.js"},
                            {"from": "LICENSE", "to": "static/widget.LICENSE"},
                        ],
                    }
                ],
            }
        )
    )
    return root


@pytest.fixture
def packed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """What `fetch` hands out: set `packed["tarball"]`."""
    served: dict[str, Path] = {}

    def fetch(package: VendoredPackage, folder: Path) -> Path:
        copy = folder / served["tarball"].name
        shutil.copyfile(served["tarball"], copy)
        return copy

    monkeypatch.setattr(vendor, "fetch", fetch)
    (tmp_path / "tarballs").mkdir()
    return served


def test_the_committed_files_are_the_pinned_ones() -> None:
    assert vendor.check() == []


def test_a_refresh_records_missing_pins_then_check_passes(
    tmp_path: Path, packed: dict[str, Path]
) -> None:
    root = project(tmp_path)
    packed["tarball"] = tarball(
        tmp_path / "tarballs", files={"dist/widget.js": SCRIPT, "LICENSE": LICENCE}
    )

    changes = vendor.refresh(Manifest.read(root), root)

    assert (root / "static/widget.js").read_bytes() == SCRIPT
    assert "widget@1.0.0: integrity recorded" in changes
    pins = Manifest.read(root).packages[0]
    assert pins.integrity == vendor.integrity_of(packed["tarball"].read_bytes())
    assert pins.files[0].sha256 == vendor.sha256_of(SCRIPT)
    assert vendor.check(root) == []
    assert "widget.LICENSE" in (root / "VENDORED.md").read_text()
    assert vendor.refresh(Manifest.read(root), root) == []


def test_a_tarball_other_than_the_pinned_one_is_refused_unless_updating(
    tmp_path: Path, packed: dict[str, Path]
) -> None:
    root = project(tmp_path)
    files = {"dist/widget.js": SCRIPT, "LICENSE": LICENCE}
    packed["tarball"] = tarball(tmp_path / "tarballs", files=files)
    vendor.refresh(Manifest.read(root), root)
    tampered = {**files, "dist/widget.js": b"fetch('https://elsewhere.example/')\n"}
    packed["tarball"] = tarball(tmp_path / "tarballs", files=tampered)

    with pytest.raises(VendorError, match="integrity"):
        vendor.refresh(Manifest.read(root), root)

    assert (root / "static/widget.js").read_bytes() == SCRIPT
    changes = vendor.refresh(Manifest.read(root), root, update=True)
    assert "widget@1.0.0 dist/widget.js: sha256 changed" in changes
    assert vendor.check(root) == []


def test_a_package_json_naming_another_licence_is_refused(
    tmp_path: Path, packed: dict[str, Path]
) -> None:
    root = project(tmp_path)
    meta = {"name": "widget", "version": "1.0.0", "license": "GPL-3.0"}
    packed["tarball"] = tarball(
        tmp_path / "tarballs", meta, {"dist/widget.js": SCRIPT, "LICENSE": LICENCE}
    )

    with pytest.raises(VendorError, match=r"GPL-3\.0"):
        vendor.refresh(Manifest.read(root), root)

    assert not (root / "static").exists()


def test_a_listed_file_that_is_a_link_or_missing_is_refused(
    tmp_path: Path, packed: dict[str, Path]
) -> None:
    root = project(tmp_path)
    packed["tarball"] = tarball(
        tmp_path / "tarballs", files={"LICENSE": LICENCE}, links={"dist/widget.js": "/etc/passwd"}
    )
    with pytest.raises(VendorError, match="not a regular file"):
        vendor.refresh(Manifest.read(root), root)

    packed["tarball"] = tarball(tmp_path / "tarballs", files={"LICENSE": LICENCE})
    with pytest.raises(VendorError, match=r"no file dist/widget\.js"):
        vendor.refresh(Manifest.read(root), root)


def test_check_names_a_changed_file_and_a_stale_notice(
    tmp_path: Path, packed: dict[str, Path]
) -> None:
    root = project(tmp_path)
    packed["tarball"] = tarball(
        tmp_path / "tarballs", files={"dist/widget.js": SCRIPT, "LICENSE": LICENCE}
    )
    vendor.refresh(Manifest.read(root), root)
    (root / "static/widget.js").write_bytes(SCRIPT + b"// edited\n")
    (root / "VENDORED.md").write_text("edited by hand\n")

    assert vendor.check(root) == [
        "static/widget.js differs from widget@1.0.0's dist/widget.js",
        "VENDORED.md is not written from vendor.json; run `make vendor`",
    ]


def test_listed_bare_imports_are_made_relative_and_pinned_as_kept(
    tmp_path: Path, packed: dict[str, Path]
) -> None:
    root = project(tmp_path)
    manifest = json.loads((root / "vendor.json").read_text())
    manifest["packages"][0]["files"][0]["imports"] = {"widget-core": "./core.js"}
    (root / "vendor.json").write_text(json.dumps(manifest))
    module = b'import{a as b}from"widget-core";import("widget-core");import"widget-core/x";\n'
    packed["tarball"] = tarball(
        tmp_path / "tarballs", files={"dist/widget.js": module, "LICENSE": LICENCE}
    )

    vendor.refresh(Manifest.read(root), root)

    kept = (root / "static/widget.js").read_bytes()
    assert kept == (b'import{a as b}from"./core.js";import("./core.js");import"widget-core/x";\n')
    pins = Manifest.read(root).packages[0].files[0]
    assert pins.imports == {"widget-core": "./core.js"}
    assert pins.sha256 == vendor.sha256_of(kept)
    assert vendor.check(root) == []
    assert "`widget-core` imported as `./core.js`" in (root / "VENDORED.md").read_text()
