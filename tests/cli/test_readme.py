"""The README documents every exit code of the one table and the two set-up commands."""

from __future__ import annotations

from pathlib import Path

from crm_cli.domain.errors import EXIT_CODES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_exit_code():
    text = README.read_text(encoding="utf-8")
    for code, _meaning in EXIT_CODES:
        assert f"\n| {code} | " in text, f"exit code {code} missing from README"


def test_readme_has_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


def test_schema_heads_match_migrations():
    from crm_cli.db.schema import HEADS, script_heads

    assert set(HEADS) == script_heads()
