"""The README documents every exit code of the one table and the two set-up commands."""

from __future__ import annotations

from pathlib import Path

from crm_cli.domain.errors import EXIT_CODES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_exit_code():
    text = README.read_text(encoding="utf-8")
    for code, _meaning in EXIT_CODES:
        assert f"\n| {code} | " in text, f"exit code {code} missing from README"


def test_readme_exit_code_table_is_the_one_in_errors_py():
    """README's table is generated from crm_cli/domain/errors.py: regenerate it with
    `crm exit-codes --readme README.md` after changing EXIT_CODES."""
    from crm_cli.cli.exit_codes import replace_section

    text = README.read_text(encoding="utf-8")
    assert replace_section(text) == text, "README exit codes differ from errors.py: run `crm exit-codes --readme README.md`"


def test_every_error_class_has_a_documented_exit_code():
    import crm_cli.domain.billing  # noqa: F401 - defines BillingRuleError
    import crm_cli.domain.phone  # noqa: F401 - defines InvalidPhone
    from crm_cli.domain.errors import CrmError, ExitCode

    documented = {int(code) for code, _ in EXIT_CODES}
    assert documented == {int(c) for c in ExitCode}
    assert len(EXIT_CODES) == len(documented)  # one README row per code: one class states its meaning
    seen, todo = [], [CrmError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    names = {cls.__name__ for cls in seen}
    assert {"InvalidPhone", "BillingRuleError", "DatabaseBusy", "Declined", "Interrupted"} <= names
    for cls in seen:
        assert cls.exit_code in documented, f"{cls.__name__} exits {cls.exit_code}, which the README does not list"


def test_readme_has_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


def test_schema_heads_match_migrations():
    from crm_cli.db.schema import HEADS, script_heads

    assert set(HEADS) == script_heads()
