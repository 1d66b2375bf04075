"""The docs point at files that exist: every repository path written in the
README, benchmarks/README.md or docs/*.md (``src/...``, ``benchmarks/...``,
``scripts/...``, ``tests/...``, ``tools/...``, ``docs/...``) and every relative Markdown link. A file from
the history is cited as ``git show REV:path``, which this test leaves alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PATH = re.compile(r"(?<![\w/.:-])((?:src|benchmarks|scripts|tests|tools|docs|deploy)/[\w./-]+\.(?:py|md|sh|json|txt|png|ya?ml))")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_and_link_in_the_docs_exists(doc):
    text = doc.read_text(encoding="utf-8")
    missing = sorted({m.group(1).rstrip(".") for m in PATH.finditer(text)
                      if not (ROOT / m.group(1).rstrip(".")).exists()})
    missing += sorted({m.group(1) for m in LINK.finditer(text)
                       if not m.group(1).startswith(("http:", "https:", "mailto:"))
                       and not (doc.parent / m.group(1)).exists()})
    assert not missing, f"{doc.name} points at files that do not exist: {missing}"
