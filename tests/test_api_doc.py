"""docs/api.md states the contract once, and states what the code does: its code
tables, field tables and lists are read back here and compared with the
enums (``facematch.types``), the models (``facematch.contract.models``), the
error -> HTTP table (``facematch.api.errors``), the severity policy and the
client's exception classes. The README links to docs/api.md instead of
repeating the tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from facematch import client, errors
from facematch.api.errors import STATUS
from facematch.checks.policy import SEVERITY
from facematch.contract.models import CONTRACT_FIELDS, ChipStatus, MatchData
from facematch.types import ErrorCode, InvalidCode

ROOT = Path(__file__).resolve().parents[1]
API = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under ``heading`` (a whole Markdown heading line) up to the next heading of its level or above."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index("\n" + heading + "\n") + len(heading) + 2
    end = re.search(rf"\n#{{1,{level}}} ", text[start:])
    return text[start:start + end.start()] if end else text[start:]


def tables(text: str) -> list[list[list[str]]]:
    """Every Markdown table in ``text``: its rows (header and separator left out), as lists of cells."""
    out: list[list[list[str]]] = []
    rows: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
        elif rows:
            out.append(rows[2:])
            rows = []
    return out


def code_rows(text: str) -> dict[int, list[str]]:
    """Rows whose first cell is a number, from every table of ``text``: code -> the other cells."""
    rows = {}
    for table in tables(text):
        for row in table:
            if re.fullmatch(r"-?\d+", row[0]):
                assert int(row[0]) not in rows, f"code {row[0]} in two rows"
                rows[int(row[0])] = row[1:]
    return rows


def statuses_of(code: ErrorCode) -> set[int]:
    """The HTTP statuses the service answers ``code`` with: api/errors.py's table over the error classes."""
    if code is ErrorCode.SUCCESS:
        return {200}
    out = set()
    for name in errors.__all__:
        cls = getattr(errors, name)
        if cls.code is code:
            out.add(next(STATUS[c] for c in cls.__mro__ if c in STATUS))
    return out


def test_error_code_tables_match_the_enum_and_the_http_table():
    rows = code_rows(section(API, "## Error codes (`errorCode`)"))
    assert set(rows) == {int(c) for c in ErrorCode}
    for code in ErrorCode:
        message, _when, http = rows[int(code)]
        assert message == code.message, code
        assert {int(s) for s in re.findall(r"\b[1-5]\d\d\b", http)} == statuses_of(code), (code, http)


def test_warning_code_table_matches_the_enum():
    rows = code_rows(section(API, "## Warning codes (`invalidCode`)"))
    assert set(rows) == {int(c) for c in InvalidCode}
    for code in InvalidCode:
        assert rows[int(code)][0] == code.message, code


def test_severity_order_is_the_policy():
    text = section(API, "## Warning codes (`invalidCode`)")
    listed = re.search(r"in this\s+order:\s*([\d,\s]+?)\s*\(", text)
    assert listed, "the severity order is not stated"
    documented = [int(c) for c in listed.group(1).split(",")]
    errors_not_warnings = {InvalidCode.NO_FACE_CARD, InvalidCode.NO_FACE_PORTRAIT}  # errorCode 3
    assert documented == [int(c) for c in SEVERITY if c not in errors_not_warnings]


def _field_names(cell: str) -> set[str]:
    return set(re.findall(r"`([A-Za-z0-9_]+)`", cell))


def test_response_field_tables_match_the_model():
    text = section(API, "## Response")
    contract, extensions = tables(text)[:2]
    documented = set().union(*(_field_names(row[0]) for row in contract))
    assert documented == set(CONTRACT_FIELDS)
    documented = set().union(*(_field_names(row[0]) for row in extensions))
    assert documented == set(MatchData.model_fields) - set(CONTRACT_FIELDS)


def test_chip_statuses_match_the_enum():
    listed = re.search(r"`status` is ((?:`\w+`(?:, | or )?)+)", section(API, "### Extension fields"))
    assert listed
    assert re.findall(r"`(\w+)`", listed.group(1)) == list(ChipStatus)
    chip_md = (ROOT / "docs" / "chip.md").read_text(encoding="utf-8")
    status_table = next(t for t in tables(chip_md) if t and t[0][0] == "`valid`")
    assert {row[0].strip("`") for row in status_table} == set(ChipStatus)


def test_client_exception_table_matches_the_client():
    text = section(API, "### With the Python client, `facematch.client`")
    rows = {re.match(r"`(\w+)`", row[0]).group(1): row[1] for t in tables(text) for row in t
            if re.match(r"`\w+`", row[0])}
    assert {name: int(code) for name, code in rows.items() if code != "`None`"} == {
        cls.__name__: code for code, cls in client.ERRORS.items()}
    assert {name for name, code in rows.items() if code == "`None`"} == {"TransportError", "UnexpectedResponseError"}


def test_client_response_fields_are_listed():
    text = section(API, "### With the Python client, `facematch.client`")
    listed = re.search(r"`MatchResponse`[^:]*fields: (.*?)\.\n", text, flags=re.S)
    assert listed
    names = set(re.findall(r"`(\w+)`", listed.group(1))) - {"MatchWarning"}
    fields = set(client.MatchResponse.__dataclass_fields__)
    warning_fields = set(client.MatchWarning.__dataclass_fields__)
    assert names - warning_fields == fields, sorted(fields ^ (names - warning_fields))


@pytest.mark.parametrize("heading", ["### Errors (`errorCode`)", "### Warnings (`invalidCode`)"])
def test_readme_does_not_repeat_the_code_tables(heading):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert heading not in readme
    for table in tables(readme):
        messages = {row[1] for row in table if len(row) > 1}
        assert not messages & ({c.message for c in ErrorCode} | {c.message for c in InvalidCode}), table
    assert "docs/api.md#error-codes-errorcode" in readme and "docs/api.md#warning-codes-invalidcode" in readme
