"""The layers point one way: cli -> services -> domain, with fileio and db beside them.

Read from the source (AST), so an import inside a function counts as much as one at the top:

* ``domain/`` is pure: no database (sqlalchemy, sqlmodel, alembic, crm_cli.db), no
  services, no commands, no files (crm_cli.fileio, ``open()``, ``Path.read_*``), no Typer;
* ``services/``, ``fileio/``, ``db/`` and ``migrations/`` never import the commands
  (``crm_cli.cli``) or the web front end (``crm_cli.web``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "crm_cli"

DOMAIN_FORBIDDEN = ("sqlalchemy", "sqlmodel", "alembic", "typer", "crm_cli.db", "crm_cli.services",
                    "crm_cli.cli", "crm_cli.fileio", "crm_cli.web", "crm_cli.line")
FRONT_ENDS = ("crm_cli.cli", "crm_cli.web")
FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes"}


def _modules(layer: str) -> list[Path]:
    return sorted((PKG / layer).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _file_calls(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name in FILE_CALLS:
                out.append((node.lineno, name))
    return out


def _hits(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    rel = path.relative_to(PKG.parent)
    return [f"{rel}:{line} imports {name}" for line, name in _imports(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)]


def test_domain_is_pure():
    problems = []
    for path in _modules("domain"):
        problems += _hits(path, DOMAIN_FORBIDDEN)
        problems += [f"{path.relative_to(PKG.parent)}:{line} calls {name}()" for line, name in _file_calls(path)]
    assert not problems, "domain/ must stay pure:\n" + "\n".join(problems)


@pytest.mark.parametrize("layer", ["services", "fileio", "db", "migrations"])
def test_lower_layers_never_import_the_front_ends(layer):
    problems = [hit for path in _modules(layer) for hit in _hits(path, FRONT_ENDS)]
    assert not problems, f"{layer}/ must not depend on the commands or the web app:\n" + "\n".join(problems)


def test_one_bangkok_zone_constant():
    """Asia/Bangkok is named once (domain/timeutil.BKK); everything else uses that constant."""
    named = [f"{p.relative_to(PKG.parent)}" for p in sorted(PKG.rglob("*.py"))
             if "Asia/Bangkok\"" in p.read_text(encoding="utf-8") and "ZoneInfo" in p.read_text(encoding="utf-8")]
    assert named == ["crm_cli/domain/timeutil.py"], named


def test_the_checks_see_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from crm_cli.cli.render import to_plain\n    return open('x')\n")
    assert [n for _, n in _imports(probe)] == ["crm_cli.cli.render", "crm_cli.cli.render.to_plain"]
    assert _file_calls(probe) == [(3, "open")]
