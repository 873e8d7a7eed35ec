"""Output conventions shared by every command: global options in either place, piped
tables that keep every character, sections, Thai display width, Bangkok times, output
files and closed pipes."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import typer

from crm_cli.cli.app import GLOBAL_OPTIONS, app


def _leaves(cmd, path=()):
    if hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(None):
            yield from _leaves(cmd.get_command(None, name), path + (name,))
    else:
        yield path, cmd


GLOBAL_FLAGS = {"--format", "-f", "--store", "-s", "--db", "--quiet", "-q", "--actor", "--debug"}


def test_every_command_takes_the_global_options_after_its_words():
    root = typer.main.get_command(app)
    leaves = list(_leaves(root))
    assert len(leaves) > 80
    missing = {}
    for path, cmd in leaves:
        opts = {o for p in cmd.params for o in p.opts}
        if not GLOBAL_FLAGS <= opts:
            missing[" ".join(path)] = sorted(GLOBAL_FLAGS - opts)
        # the root's own options, by name, with nothing passed to the command function
        names = {p.name for p in cmd.params if not p.expose_value}
        assert set(GLOBAL_OPTIONS) <= names, path
    assert not missing, missing


def test_a_bad_format_after_the_command_is_a_usage_error(cli):
    r = cli("branch", "list", "--format", "yaml", store=None)
    assert r.exit_code == 2
    assert "must be one of: table, json, csv, plain, markdown" in r.stderr


def test_global_options_after_the_command(shop):
    rows = json.loads(shop.ok("branch", "list", "--format", "json").stdout)
    assert sorted(r["name"] for r in rows) == ["Ari", "Siam"]
    csv = shop.ok("staff", "list", "-f", "csv").stdout
    assert csv.splitlines()[0].startswith("name,") or csv.splitlines()[0].startswith("phone,")
    status = json.loads(shop.ok("db", "status", "--format", "json").stdout)
    assert status["up_to_date"] is True
    # the store named after the command wins over the one before the group
    shop.ok("store", "create", "tea", "--name", "Tea House")
    shop.ok("branch", "add", "Ari Tea", "--store", "tea", "-q")
    tea = json.loads(shop.ok("branch", "list", "-s", "tea", "-f", "json", store="cafe").stdout)
    assert [r["name"] for r in tea] == ["Ari Tea"]
    # --actor after the command is what the audit log records
    shop.ok("branch", "add", "Thonglor", "--actor", "somchai")
    audit = json.loads(shop.ok("audit", "list", "--format", "json").stdout)
    assert any(a["actor"] == "somchai" and "Thonglor" in a["summary"] for a in audit)
    # --quiet after the command silences stderr chatter
    r = shop.ok("branch", "add", "Bang Na", "--quiet")
    assert r.stderr == ""


def test_db_after_the_command_is_the_database_used(shop, tmp_path):
    from typer.testing import CliRunner

    r = CliRunner().invoke(app, ["branch", "list", "--db", shop.db_url, "--store", "cafe", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert sorted(b["name"] for b in json.loads(r.stdout)) == ["Ari", "Siam"]


def _help_examples_with_trailing_globals():
    root = typer.main.get_command(app)
    found = []
    for path, cmd in _leaves(root):
        for ex in re.findall(r"Example: (crm [^\n]+)", cmd.help or ""):
            words = shlex.split(ex)[1:]
            if words[: len(path)] == list(path) and GLOBAL_FLAGS.intersection(words[len(path):]):
                found.append(words)
    return found


def test_help_examples_written_with_options_after_the_command_work(shop):
    examples = _help_examples_with_trailing_globals()
    assert len(examples) >= 6, examples
    for words in examples:
        r = shop(*words)
        assert r.exit_code == 0, f"crm {' '.join(words)}: {r.exit_code} {r.stderr}"
        if "json" in words:
            json.loads(r.stdout)
