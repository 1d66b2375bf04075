"""docs/checks.md's per-warning tables are what ``benchmarks.warnings`` renders from its committed result file."""

from __future__ import annotations

import json

from benchmarks import warnings


def test_the_per_warning_tables_match_the_result_file():
    result = json.loads(warnings.OUT.read_text())
    assert result["rows"], "the result file holds no rows"
    assert warnings.doc_block(warnings.DOC.read_text()) == warnings.render(result)


def test_every_row_says_what_it_counts():
    for row in json.loads(warnings.OUT.read_text())["rows"]:
        assert row["role"] in ("recall", "false alarm")
        assert 0 <= row["flagged"] <= row["images"] and 0 <= row["faces"] <= row["images"]
        assert isinstance(row["in_sample"], bool)
