"""`bench/RESULTS.md` is shared: the PostGraphile comparison (`bench.run`) writes its body, and
other benchmarks (`bench.events`, `bench.webhooks`) each own one section, kept between
`<!-- section: NAME -->` and `<!-- /section: NAME -->` markers, that the others leave alone."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- section: {name} -->", f"<!-- /section: {name} -->"


def _sections(text: str) -> str:
    """Every marked section of `text`, in order, with its markers."""
    found = re.findall(r"<!-- section: .+? -->.*?<!-- /section: .+? -->", text, flags=re.S)
    return "\n\n".join(found)


def replace_section(name: str, markdown: str, path: Path = RESULTS_PATH) -> None:
    """Write `markdown` as the section `name` (heading included), replacing its last version."""
    begin, end = _markers(name)
    block = f"{begin}\n## {name}\n\n{markdown.strip()}\n{end}"
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), flags=re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def write_keeping_sections(body: str, path: Path = RESULTS_PATH) -> None:
    """Write `body` as the file, keeping the marked sections it held after it."""
    kept = _sections(path.read_text()) if path.exists() else ""
    path.write_text(body.rstrip() + ("\n\n" + kept + "\n" if kept else "\n"))
