"""Every command in the tree has help text with an example."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from crm_cli.cli.app import app


def _walk(cmd, path=()):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _walk(sub, path + (name,))


def test_every_command_has_help_with_example():
    root = typer.main.get_command(app)
    missing = []
    for path, cmd in _walk(root):
        if not path:
            continue
        text = (cmd.help or "").strip()
        if not text:
            missing.append(" ".join(path) + " (no help)")
        elif not getattr(cmd, "commands", None) and "Example" not in text:
            missing.append(" ".join(path) + " (no example)")
    assert not missing, "commands without help/example: " + ", ".join(missing)


def test_every_group_has_commands():
    root = typer.main.get_command(app)
    empty = [" ".join(p) for p, c in _walk(root) if p and hasattr(c, "commands") and not c.commands]
    assert not empty, f"command groups without commands: {empty}"


def test_help_runs_for_every_command():
    runner = CliRunner()
    root = typer.main.get_command(app)
    for path, cmd in _walk(root):
        r = runner.invoke(app, list(path) + ["--help"])
        assert r.exit_code == 0, (path, r.output)
        assert "Usage" in r.output
