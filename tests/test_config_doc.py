"""docs/configuration.md lists exactly the environment variables of
``facematch.settings.Settings``: same names (nested groups as
``FACEMATCH_GROUP__FIELD``), same defaults, and each field's description.

When a setting changes, print the rows to paste with
``.venv/bin/python -m tests.test_config_doc``.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, SecretStr

from facematch.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
HEADER = "| Variable | Default | Description |"
NONE = "—"


def _render(value: object) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def settings_variables(model: type[BaseModel] = Settings, instance: BaseModel | None = None,
                       prefix: str = "FACEMATCH_") -> dict[str, tuple[str, str]]:
    """Environment variable -> (default as text, description) for every leaf field."""
    out: dict[str, tuple[str, str]] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            default = field.get_default(call_default_factory=True)
            out.update(settings_variables(annotation, default, f"{prefix}{name.upper()}__"))
            continue
        default = field.get_default(call_default_factory=True)
        out[f"{prefix}{name.upper()}"] = (_render(default), field.description or "")
    return out


def doc_rows(text: str) -> dict[str, tuple[str, str]]:
    """Variable -> (default, description) from the table under HEADER."""
    lines = text.splitlines()
    start = lines.index(HEADER)
    rows: dict[str, tuple[str, str]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, f"malformed row: {line}"
        name = cells[0].strip("`")
        assert name not in rows, f"{name} listed twice"
        if cells[1] == NONE:
            default = ""
        else:
            m = re.fullmatch(r"`([^`]*)`.*", cells[1])
            assert m, f"{name}: default must be `value` or {NONE}, got {cells[1]!r}"
            default = m.group(1)
        rows[name] = (default, cells[2])
    return rows


def _norm(text: str) -> str:
    return " ".join(text.split())


def row(name: str, default: str, description: str) -> str:
    return f"| `{name}` | {'`' + default + '`' if default else NONE} | {description} |"


def test_every_setting_is_documented_and_nothing_else():
    expected = settings_variables()
    documented = doc_rows(DOC.read_text(encoding="utf-8"))
    missing = [row(n, *expected[n]) for n in expected if n not in documented]
    assert not missing, "add to docs/configuration.md:\n" + "\n".join(missing)
    extra = sorted(set(documented) - set(expected))
    assert not extra, f"docs/configuration.md lists variables Settings does not have: {extra}"


def test_defaults_and_descriptions_match():
    expected = settings_variables()
    documented = doc_rows(DOC.read_text(encoding="utf-8"))
    for name, (default, description) in expected.items():
        doc_default, doc_description = documented[name]
        assert doc_default == default, f"{name}: documented default {doc_default!r}, Settings has {default!r}"
        assert description, f"{name} has no Field(description=...) in settings.py"
        assert _norm(description) in _norm(doc_description), \
            f"{name}: the description must contain the field's: {description!r}"


def test_nested_names_use_the_double_underscore():
    names = settings_variables()
    assert "FACEMATCH_LIMITS__MAX_IMAGE_BYTES" in names
    assert all(n.startswith("FACEMATCH_") and n == n.upper() for n in names)


def test_a_documented_nested_variable_really_configures(monkeypatch):
    monkeypatch.setenv("FACEMATCH_LIMITS__MAX_IMAGE_BYTES", "1234")
    monkeypatch.setenv("FACEMATCH_URL_ALLOWLIST", "10.0.0.0/8, cdn.internal")
    s = Settings()
    assert s.limits.max_image_bytes == 1234 and s.url_allowlist == ["10.0.0.0/8", "cdn.internal"]


if __name__ == "__main__":
    print(HEADER)
    print("|---|---|---|")
    for variable, (default_text, text) in settings_variables().items():
        print(row(variable, default_text, text))
