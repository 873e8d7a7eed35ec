"""Shell completion of names from the current database: store slugs, branch, reward,
tier and segment names (``crm --install-completion``). Each completer reads ``--db`` and ``--store``
from the words typed so far (before or after the command), else the environment and the
remembered store, exactly as a command would, and asks :mod:`crm_cli.db.names`."""

from __future__ import annotations

import os

import typer


def _words() -> list[str]:
    """The command line being completed, as the shell hands it over (bash: COMP_WORDS;
    zsh, fish and PowerShell: _TYPER_COMPLETE_ARGS)."""
    import shlex

    raw = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS") or ""
    try:
        return shlex.split(raw)
    except ValueError:  # an unfinished quote in the word being typed
        return raw.split()


def _given(words: list[str], *opts: str) -> str | None:
    """The last value of an option among the words typed so far (``--db URL`` or ``--db=URL``)."""
    found = None
    for i, word in enumerate(words):
        for opt in opts:
            if word == opt and i + 1 < len(words):
                found = words[i + 1]
            elif opt.startswith("--") and word.startswith(opt + "="):
                found = word.split("=", 1)[1]
    return found


def _target(ctx: typer.Context) -> tuple[str, str | None]:
    from crm_cli.db.engine import resolve_url

    words = _words()
    root = ctx.find_root().params
    url = resolve_url(_given(words, "--db") or root.get("db")).url
    store = _given(words, "--store", "-s") or root.get("store") or os.environ.get("CRM_STORE")
    if not store:
        from crm_cli.cli.context import read_config

        store = read_config().get("store")
    return url, store


def _matching(values: list[str], incomplete: str) -> list[str]:
    return [v for v in values if v.startswith(incomplete)]  # as Typer filters: case matters


def _names(kind: str, ctx: typer.Context, incomplete: str) -> list[str]:
    from crm_cli.db.names import names

    url, store = _target(ctx)
    return _matching(names(url, kind, store=store), incomplete)


def _completer(kind: str):
    """A Typer completer of the names of ``kind`` (see :data:`crm_cli.db.names.QUERIES`)."""

    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        return _names(kind, ctx, incomplete)

    return complete


stores = _completer("store")
branches = _completer("branch")
rewards = _completer("reward")
tiers = _completer("tier")
segments = _completer("segment")
member_tags = _completer("member_tag")
follower_tags = _completer("follower_tag")
tags = _completer("tag")  # members' and followers' tags: what a segment filters on
