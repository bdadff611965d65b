"""Third-party browser files kept in the repository, refreshed from the npm registry.

`vendor.json` (at the repository's root) lists each package: its name, exact version,
licence and what it is for, the integrity (sha512) of its registry tarball, and the files
taken from it, each with where it goes and its sha256. `VENDORED.md` is written from it.

    python tools/vendor.py            fetch each package (`npm pack`), check it against its
                                      pins, write its files and VENDORED.md (`make vendor`)
    python tools/vendor.py --update   the same, recording new pins where they changed (after
                                      changing a version); prints what changed
    python tools/vendor.py --check    offline: every file on disk is the pinned one and
                                      VENDORED.md is current (the unit tests run this)

A package or file added without pins gets them recorded on the next refresh; a pin that no
longer matches stops a refresh unless `--update` is given. The tarball comes from whatever
registry npm is configured with, and is checked against the pinned integrity whatever it is.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "vendor.json"
NOTICE = "VENDORED.md"


class VendorError(Exception):
    """A package or file that is not what its pins say."""


@dataclass(slots=True)
class VendoredFile:
    source: str
    """Its path inside the package (the tarball's `package/` folder)."""
    target: str
    """Where it is kept, relative to the repository's root."""
    sha256: str | None = None
    """Of the file as kept (after `imports`)."""
    imports: dict[str, str] = field(default_factory=dict)
    """Bare module specifiers and the relative paths they become (`"preact"`:
    `"./preact.module.js"`): a page under a strict CSP has no import map to resolve them."""


@dataclass(slots=True)
class VendoredPackage:
    name: str
    version: str
    license: str
    purpose: str
    files: list[VendoredFile]
    integrity: str | None = None
    """The tarball's Subresource-Integrity string (`sha512-<base64>`), as npm reports it."""

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball(self) -> str:
        """The tarball's file name, as the registry and `npm pack` name it."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


@dataclass(slots=True)
class Manifest:
    packages: list[VendoredPackage]
    about: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path = ROOT) -> Manifest:
        raw = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        packages = [
            VendoredPackage(
                name=entry["package"],
                version=entry["version"],
                license=entry["license"],
                purpose=entry.get("for", ""),
                integrity=entry.get("integrity"),
                files=[
                    VendoredFile(
                        item["from"], item["to"], item.get("sha256"), item.get("imports", {})
                    )
                    for item in entry["files"]
                ],
            )
            for entry in raw["packages"]
        ]
        extra = {key: value for key, value in raw.items() if key not in ("about", "packages")}
        return cls(packages, raw.get("about", ""), extra)

    def write(self, root: Path = ROOT) -> None:
        raw: dict[str, Any] = {"about": self.about, **self.extra, "packages": []}
        for package in self.packages:
            entry: dict[str, Any] = {
                "package": package.name,
                "version": package.version,
                "license": package.license,
                "for": package.purpose,
                "integrity": package.integrity,
                "files": [_file_entry(item) for item in package.files],
            }
            raw["packages"].append(entry)
        text = json.dumps(raw, indent=2, ensure_ascii=False) + "\n"
        (root / MANIFEST).write_text(text, encoding="utf-8")


def _file_entry(item: VendoredFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"from": item.source, "to": item.target}
    if item.imports:
        entry["imports"] = item.imports
    entry["sha256"] = item.sha256
    return entry


def relinked(body: bytes, imports: dict[str, str]) -> bytes:
    """An ES module with its bare imports of `imports` (`from"preact"`, `import("preact")`)
    made relative; nothing else changes. Without `imports`, the file as it is."""
    if not imports:
        return body
    text = body.decode("utf-8")
    for specifier, relative in imports.items():
        pattern = re.compile(
            r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])""" + re.escape(specifier) + r"\2"
        )
        text = pattern.sub(r"\g<1>\g<2>" + relative.replace("\\", r"\\") + r"\g<2>", text)
    return text.encode("utf-8")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


# --- fetching ----------------------------------------------------------------------------


def fetch(package: VendoredPackage, folder: Path) -> Path:
    """The package's tarball, written into `folder` by `npm pack` (which checks it against
    the registry's integrity; the caller checks it against the pinned one)."""
    try:
        # npm from the PATH, as a developer runs it; the arguments come from vendor.json.
        command = ["npm", "pack", "--json", "--silent", package.spec]
        done = subprocess.run(  # noqa: S603
            [*command, "--pack-destination", str(folder)],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except FileNotFoundError:
        raise VendorError("npm is needed to fetch packages (apt-get install -y npm)") from None
    except subprocess.CalledProcessError as failed:
        raise VendorError(f"npm pack {package.spec} failed: {failed.stderr.strip()}") from None
    packed: dict[str, str] = json.loads(done.stdout)[0]
    tarball = folder / packed["filename"]
    if integrity_of(tarball.read_bytes()) != packed["integrity"]:
        raise VendorError(f"{package.spec}: the tarball does not match npm's own integrity")
    return tarball


def unpack(package: VendoredPackage, tarball: Path) -> dict[str, bytes]:
    """The listed files of the tarball, after checking its package.json names this package,
    version and licence."""
    with tarfile.open(tarball, "r:gz") as archive:

        def member(path: str) -> bytes:
            try:
                info = archive.getmember(f"package/{path}")
            except KeyError:
                raise VendorError(f"{package.spec} has no file {path}") from None
            extracted = archive.extractfile(info) if info.isfile() else None
            if extracted is None:
                raise VendorError(f"{package.spec}: {path} is not a regular file")
            return extracted.read()

        meta = json.loads(member("package.json"))
        found = (meta.get("name"), meta.get("version"), meta.get("license"))
        if found != (package.name, package.version, package.license):
            raise VendorError(
                f"{package.spec}: its package.json says {found}, "
                f"not {(package.name, package.version, package.license)}"
            )
        return {item.source: member(item.source) for item in package.files}


def refresh(manifest: Manifest, root: Path = ROOT, *, update: bool = False) -> list[str]:
    """Fetch every package, check it against its pins (recording missing ones, and changed
    ones with `update`), write its files. Returns what changed; raises VendorError, having
    written nothing, when a pin does not match."""
    contents: dict[str, bytes] = {}
    changes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="paved-vendor-") as work:
        for package in manifest.packages:
            tarball = fetch(package, Path(work))
            changes += _pin(package, "integrity", integrity_of(tarball.read_bytes()), update)
            files = unpack(package, tarball)
            for item in package.files:
                body = relinked(files[item.source], item.imports)
                label = f"{package.spec} {item.source}"
                changes += _pin(item, "sha256", sha256_of(body), update, label)
                contents[item.target] = body
    for target, body in contents.items():
        path = root / target
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != body:
            path.write_bytes(body)
            changes.append(f"wrote {target}")
    manifest.write(root)
    notice = root / NOTICE
    text = render_notice(manifest)
    if not notice.is_file() or notice.read_text(encoding="utf-8") != text:
        notice.write_text(text, encoding="utf-8")
        changes.append(f"wrote {NOTICE}")
    return changes


def _pin(
    owner: VendoredPackage | VendoredFile, name: str, value: str, update: bool, what: str = ""
) -> list[str]:
    label = what or getattr(owner, "spec", "")
    pinned = getattr(owner, name)
    if pinned == value:
        return []
    if pinned is not None and not update:
        raise VendorError(
            f"{label}: its {name} is {value}, not the pinned {pinned} "
            "(after changing a version, run with --update)"
        )
    setattr(owner, name, value)
    return [f"{label}: {name} {'recorded' if pinned is None else 'changed'}"]


# --- checking, offline -------------------------------------------------------------------


def check(root: Path = ROOT) -> list[str]:
    """What is wrong with the vendored files, without the network: missing pins, files
    missing or different from their pins, VENDORED.md not written from the manifest."""
    manifest = Manifest.read(root)
    problems: list[str] = []
    targets: set[str] = set()
    for package in manifest.packages:
        if package.integrity is None:
            problems.append(f"{package.spec}: no integrity pinned; run `make vendor`")
        for item in package.files:
            if item.target in targets:
                problems.append(f"{item.target} is the target of two files")
            targets.add(item.target)
            path = root / item.target
            if item.sha256 is None:
                problems.append(f"{item.target}: no sha256 pinned; run `make vendor`")
            elif not path.is_file():
                problems.append(f"{item.target} is missing; run `make vendor`")
            elif sha256_of(path.read_bytes()) != item.sha256:
                problems.append(f"{item.target} differs from {package.spec}'s {item.source}")
    notice = root / NOTICE
    if not notice.is_file() or notice.read_text(encoding="utf-8") != render_notice(manifest):
        problems.append(f"{NOTICE} is not written from {MANIFEST}; run `make vendor`")
    return problems


def render_notice(manifest: Manifest) -> str:
    lines = [
        "# Vendored third-party files",
        "",
        f"Written by `make vendor` (`tools/vendor.py`) from `{MANIFEST}`: do not edit by hand.",
        "Each package comes from the npm registry as its release tarball (`npm pack",
        "<package>@<version>`), checked against the integrity below; each file is kept",
        "unchanged (but for the bare imports listed, made relative: a page under a strict",
        "CSP has no import map), with its licence text beside it. To change a version, edit it in",
        f"`{MANIFEST}` and run `make vendor VENDOR_ARGS=--update`.",
        "",
    ]
    for package in manifest.packages:
        lines += [
            f"## {package.spec}",
            "",
            f"- licence: {package.license}",
            f"- for: {package.purpose}",
            f"- source: `{package.tarball}` from the npm registry, integrity `{package.integrity}`",
            "",
            "| file in the package | kept as | sha256 |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{item.source}` | `{item.target}` | `{item.sha256}` |" for item in package.files
        ]
        relinks = [
            f"- in `{item.target}`: `{specifier}` imported as `{relative}`"
            for item in package.files
            for specifier, relative in item.imports.items()
        ]
        lines += ["", *relinks] if relinks else []
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="check the files on disk, offline")
    mode.add_argument("--update", action="store_true", help="record pins that changed")
    arguments = parser.parse_args(argv)
    try:
        if arguments.check:
            problems = check()
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1 if problems else 0
        for change in refresh(Manifest.read(), update=arguments.update):
            print(change)
    except VendorError as error:
        print(f"vendor: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
