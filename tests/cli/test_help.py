"""Every command in the tree has help text with an example."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from crm_cli.cli.app import app


def _walk(cmd, path=()):
    """Every command of the tree, loading the lazily mounted groups."""
    yield path, cmd
    if hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(None):
            yield from _walk(cmd.get_command(None, name), path + (name,))


def test_every_command_has_help_with_example():
    root = typer.main.get_command(app)
    missing = []
    for path, cmd in _walk(root):
        if not path:
            continue
        text = (cmd.help or "").strip()
        if not text:
            missing.append(" ".join(path) + " (no help)")
        elif not hasattr(cmd, "list_commands") and "Example" not in text:
            missing.append(" ".join(path) + " (no example)")
    assert not missing, "commands without help/example: " + ", ".join(missing)


def test_every_group_has_commands():
    root = typer.main.get_command(app)
    empty = [" ".join(p) for p, c in _walk(root) if p and hasattr(c, "list_commands") and not c.list_commands(None)]
    assert not empty, f"command groups without commands: {empty}"


def test_help_runs_for_every_command():
    runner = CliRunner()
    root = typer.main.get_command(app)
    paths = [p for p, _ in _walk(root)]
    assert len(paths) > 80
    for path in paths:
        r = runner.invoke(app, list(path) + ["--help"])
        assert r.exit_code == 0, (path, r.output)
        assert "Usage" in r.output
