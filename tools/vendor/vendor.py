"""Bring the browser libraries listed in `manifest.toml` from the npm registry into the repo.

    python tools/vendor/vendor.py            fetch the pinned versions, check, copy, record
    python tools/vendor/vendor.py --upgrade  first move each package to the newest release of
                                             its `range` (rewrites the manifest's pins)
    python tools/vendor/vendor.py --check    only check the files on disk against VENDORED.md

`npm pack` is the one client used: it fetches a package's tarball as published. The tarball
must match the manifest's `integrity`; only the listed files are read from it, their bare
imports (`from"preact"`) rewritten to relative paths since a strict CSP allows no import map,
their `sourceMappingURL` comments dropped (the maps are not shipped). Each destination folder
gets a VENDORED.md: package, version, licence, tarball integrity, and every file's sha256.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path(__file__).with_name("manifest.toml")
RECORD = "VENDORED.md"
_IMPORT_OF = r"""(\bfrom\s*|\bimport\s*\(?\s*)(["']){}\2"""
_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")


@dataclass(frozen=True, slots=True)
class VendoredFile:
    source: str
    """Path inside the package (`dist/preact.module.js`)."""
    target: str
    """Name in the destination folder."""
    imports: dict[str, str]
    """Bare specifier → relative path."""


@dataclass(frozen=True, slots=True)
class Package:
    name: str
    range: str
    version: str
    integrity: str
    license: str
    dest: str
    files: tuple[VendoredFile, ...]


def read_manifest(path: Path = MANIFEST) -> list[Package]:
    document = tomllib.loads(path.read_text())
    return [
        Package(
            name=entry["name"],
            range=entry["range"],
            version=entry["version"],
            integrity=entry["integrity"],
            license=entry["license"],
            dest=entry["dest"],
            files=tuple(
                VendoredFile(item["from"], item["to"], dict(item.get("imports", {})))
                for item in entry["files"]
            ),
        )
        for entry in document["package"]
    ]


def rewrite(text: str, imports: dict[str, str]) -> str:
    """The module with its bare imports made relative and no source-map comment."""
    for specifier, relative in imports.items():
        pattern = re.compile(
            r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])""" + re.escape(specifier) + r"\2"
        )
        text = pattern.sub(rf"\g<1>\g<2>{relative}\g<2>", text)
    return _SOURCE_MAP.sub("\n", text)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def npm(*arguments: str) -> str:
    """What npm prints; the package names come from the manifest, and no shell runs."""
    executable = shutil.which("npm")
    if executable is None:
        raise SystemExit("npm is needed to vendor browser libraries (apt-get install npm)")
    done = subprocess.run(  # noqa: S603
        [executable, *arguments], check=True, capture_output=True, text=True
    )
    return done.stdout


def newest_in_range(package: Package) -> str:
    answer = npm("view", f"{package.name}@{package.range}", "version", "--json")
    found = json.loads(answer)
    versions: list[str] = found if isinstance(found, list) else [found]
    stable = [v for v in versions if re.fullmatch(r"\d+\.\d+\.\d+", v)]
    return max(stable, key=lambda v: tuple(int(part) for part in v.split(".")))


def fetch(package: Package, version: str, workdir: Path) -> bytes:
    """The package's tarball, as `npm pack` fetches it."""
    answer = npm("pack", f"{package.name}@{version}", "--json", "--pack-destination", str(workdir))
    filename: str = json.loads(answer)[0]["filename"]
    return (workdir / filename).read_bytes()


def extract(tarball: Path, package: Package) -> dict[str, bytes]:
    """The listed files' contents, rewritten; nothing else of the tarball is read."""
    contents: dict[str, bytes] = {}
    with tarfile.open(tarball) as archive:
        for item in package.files:
            member = archive.extractfile(f"package/{item.source}")
            if member is None:
                raise SystemExit(f"{package.name}: {item.source} is not a file in the tarball")
            data = member.read()
            if item.target.endswith(".js"):
                data = rewrite(data.decode(), item.imports).encode()
            contents[item.target] = data
    return contents


def record(packages: list[Package], hashes: dict[str, dict[str, str]]) -> str:
    lines = [
        "# Vendored browser libraries",
        "",
        "Brought from the npm registry by `make vendor` (tools/vendor/vendor.py, pins in",
        "tools/vendor/manifest.toml); do not edit these files by hand. Bare imports are",
        "rewritten to relative paths and source-map comments dropped; nothing else changes.",
        "",
        "| package | version | licence | tarball integrity |",
        "|---|---|---|---|",
    ]
    lines += [f"| {p.name} | {p.version} | {p.license} | `{p.integrity}` |" for p in packages]
    lines += ["", "| file | from | sha256 |", "|---|---|---|"]
    for package in packages:
        for item in package.files:
            digest = hashes[package.name][item.target]
            lines.append(f"| {item.target} | {package.name}/{item.source} | `{digest}` |")
    return "\n".join(lines) + "\n"


def recorded_hashes(folder: Path) -> dict[str, str]:
    """File name → sha256, as VENDORED.md records them."""
    found = re.findall(
        r"^\| (\S+) \| \S+ \| `([0-9a-f]{64})` \|$", (folder / RECORD).read_text(), re.M
    )
    return dict(found)


def check(packages: list[Package]) -> list[str]:
    """What differs between the files on disk and their record."""
    problems = []
    for dest in sorted({p.dest for p in packages}):
        folder = ROOT / dest
        expected = recorded_hashes(folder)
        names = {item.target for p in packages if p.dest == dest for item in p.files}
        if set(expected) != names:
            problems.append(f"{dest}/{RECORD} lists {sorted(expected)}, manifest {sorted(names)}")
        for name, digest in expected.items():
            path = folder / name
            if not path.is_file() or sha256(path.read_bytes()) != digest:
                problems.append(f"{dest}/{name} does not match its sha256 in {RECORD}")
    return problems


def pin(package: Package, version: str, integrity: str) -> None:
    """Rewrite the manifest's version and integrity of one package."""
    text = MANIFEST.read_text()
    block = re.compile(
        r'(name = "' + re.escape(package.name) + r'"\n(?:.*\n)*?version = ")[^"]+("\n'
        r'integrity = ")[^"]+(")'
    )
    MANIFEST.write_text(block.sub(lambda m: f"{m[1]}{version}{m[2]}{integrity}{m[3]}", text, 1))


def vendor(packages: list[Package], *, upgrade: bool) -> list[Package]:
    hashes: dict[str, dict[str, str]] = {}
    done: list[Package] = []
    with tempfile.TemporaryDirectory() as workdir:
        for package in packages:
            version = newest_in_range(package) if upgrade else package.version
            tarball = fetch(package, version, Path(workdir))
            integrity = sri(tarball)
            if version == package.version and integrity != package.integrity:
                raise SystemExit(
                    f"{package.name}@{version}: tarball integrity {integrity} is not the pinned one"
                )
            if version != package.version:
                pin(package, version, integrity)
                print(f"{package.name}: {package.version} -> {version}")
            path = Path(workdir) / f"{package.name}-{version}.tgz"
            path.write_bytes(tarball)
            contents = extract(path, package)
            folder = ROOT / package.dest
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in contents.items():
                (folder / name).write_bytes(data)
            hashes[package.name] = {name: sha256(data) for name, data in contents.items()}
            done.append(
                Package(
                    package.name,
                    package.range,
                    version,
                    integrity,
                    package.license,
                    package.dest,
                    package.files,
                )
            )
    for dest in sorted({p.dest for p in done}):
        (ROOT / dest / RECORD).write_text(record([p for p in done if p.dest == dest], hashes))
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--upgrade", action="store_true", help="move to the newest in each range")
    mode.add_argument("--check", action="store_true", help="only check files against VENDORED.md")
    arguments = parser.parse_args(argv)
    packages = read_manifest()
    if arguments.check:
        problems = check(packages)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    for package in vendor(packages, upgrade=arguments.upgrade):
        print(f"vendored {package.name}@{package.version} into {package.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
