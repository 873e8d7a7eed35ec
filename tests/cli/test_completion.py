"""Shell completion (Typer's own, bash/zsh/fish) with names from the current database,
run as the shell runs it: a real `crm` process with COMP_WORDS / _TYPER_COMPLETE_ARGS set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# the completing process writes the names of the heavy modules it loaded (the ORM, the
# models, the services) to a file as it exits, so a test can prove none was needed
_RUN = (
    "import atexit, sys\n"
    "_out = sys.argv[1]\n"
    "def _report():\n"
    "    heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'alembic')"
    " or m.startswith(('crm_cli.services', 'crm_cli.db.models')))\n"
    "    open(_out, 'w').write(' '.join(heavy))\n"
    "atexit.register(_report)\n"
    "sys.argv = ['crm']\n"
    "from crm_cli.cli.app import main\n"
    "main(prog_name='crm')\n"
)


@pytest.fixture
def names(shop):
    """Store 'cafe' (branches Siam, Ari; tiers Silver, Gold; rewards Free latte, Tote bag), store 'bakery'."""
    shop.ok("tier", "set", "Silver", "--threshold", "100")
    shop.ok("tier", "set", "Gold", "--threshold", "500")
    shop.ok("reward", "create", "Free latte", "--kind", "in-store", "--cost", "80")
    shop.ok("reward", "create", "Tote bag", "--kind", "delivery", "--cost", "300")
    shop.ok("branch", "add", "Old Town")
    shop.ok("branch", "close", "Old Town")
    shop.ok("store", "create", "bakery", "--name", "Bakery", "--no-use", store=None)
    return shop


def complete(tmp_path, env: dict[str, str]) -> tuple[str, str]:
    """Run one completion request; returns (stdout, heavy modules it imported)."""
    report = tmp_path / "modules.txt"
    full = {k: v for k, v in os.environ.items() if not k.startswith(("COMP_", "_TYPER_", "_CRM_"))}
    full.update(env)
    r = subprocess.run([sys.executable, "-c", _RUN, str(report)], env=full, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    return r.stdout, report.read_text()


def bash(tmp_path, line: str) -> list[str]:
    words = line.split(" ")
    out, heavy = complete(tmp_path, {"_CRM_COMPLETE": "complete_bash", "COMP_WORDS": line,
                                     "COMP_CWORD": str(len(words) - 1)})
    assert heavy == ""
    return [line for line in out.splitlines() if line]


def test_bash_completes_names_from_the_database(names, tmp_path):
    db = names.db_url
    # store slugs for the global --store, before or after the command, and for `store use`
    assert bash(tmp_path, f"crm --db {db} --store ") == ["bakery", "cafe"]
    assert bash(tmp_path, f"crm --db {db} branch list --store c") == ["cafe"]
    # branch names of the store named on the line (open branches only), anywhere on the line
    assert bash(tmp_path, f"crm --db {db} --store cafe branch close ") == ["Ari", "Siam"]
    assert bash(tmp_path, f"crm --db {db} points give 0812345678 --store cafe --branch S") == ["Siam"]
    assert bash(tmp_path, f"crm --db {db} --store bakery member import m.xlsx --branch ") == []
    # reward and tier names
    assert bash(tmp_path, f"crm --db {db} --store cafe reward redeem ") == ["Free latte", "Tote bag"]
    assert bash(tmp_path, f"crm --db {db} --store cafe tier remove ") == ["Silver", "Gold"]  # by threshold
    assert bash(tmp_path, f"crm --db {db} --store cafe reward edit Tote --min-tier G") == ["Gold"]
    # segment names for --segment and for the segment commands (not for a new segment's name)
    names.ok("segment", "create", "coffee-gold", "--tier", "Gold")
    names.ok("segment", "create", "big-spenders", "--min-points", "400")
    assert bash(tmp_path, f"crm --db {db} --store cafe survey send taste --segment ") == ["big-spenders", "coffee-gold"]
    assert bash(tmp_path, f"crm --db {db} --store cafe promo issue p --segment c") == ["coffee-gold"]
    assert bash(tmp_path, f"crm --db {db} --store cafe segment show b") == ["big-spenders"]
    assert bash(tmp_path, f"crm --db {db} --store cafe segment create b") == []
    assert bash(tmp_path, f"crm --db {db} --store bakery campaign create x --segment ") == []
    # tags: members' for member list, followers' for follower list, both for a segment
    names.ok("points", "give", "0812345678", "--spend", "100", "--branch", "Siam")
    names.ok("member", "tag", "0812345678", "coffee-lover", "vip")
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.begin() as conn:
        sid = conn.execute(text("SELECT id FROM store WHERE slug = 'cafe'")).scalar_one()
        conn.execute(text("INSERT INTO line_follower (store_id, user_id, status, source, created_at) "
                          "VALUES (:s, :u, 'following', 'webhook', '2026-11-30 00:00:00')"), {"s": sid, "u": "U" + "1" * 32})
        fid = conn.execute(text("SELECT id FROM line_follower WHERE store_id = :s"), {"s": sid}).scalar_one()
        conn.execute(text("INSERT INTO line_follower_tag (follower_id, kind, tag, created_at) "
                          "VALUES (:f, 'active', 'clicked-menu', '2026-11-30 00:00:00')"), {"f": fid})
        # another store's member: its own tag, and one cafe uses too (each store sees its own)
        conn.execute(text("INSERT INTO member (store_id, phone, source, created_at) SELECT id, '+66819999999', "
                          "'points', '2026-11-30 00:00:00' FROM store WHERE slug = 'bakery'"))
        conn.execute(text("INSERT INTO member_tag (member_id, tag, kind) SELECT id, t.tag, 'chat' FROM member, "
                          "(SELECT 'a-bakery-only' AS tag UNION ALL SELECT 'vip') t WHERE phone = '+66819999999'"))
    engine.dispose()
    assert bash(tmp_path, f"crm --db {db} --store bakery member list --tag ") == ["a-bakery-only", "vip"]
    assert bash(tmp_path, f"crm --db {db} --store cafe member list --tag ") == ["coffee-lover", "vip"]
    assert bash(tmp_path, f"crm --db {db} --store cafe follower list --tag ") == ["clicked-menu"]
    assert bash(tmp_path, f"crm --db {db} --store cafe segment create s --any-tag c") == ["clicked-menu", "coffee-lover"]
    assert bash(tmp_path, f"crm --db {db} --store bakery segment create s --tag ") == ["a-bakery-only", "vip"]
    assert bash(tmp_path, f"crm --db {db} --store cafe member tag 0812345678 c") == ["coffee-lover"]
    assert bash(tmp_path, f"crm --db {db} --store cafe follower tag U{'1' * 32} c") == ["clicked-menu"]
    # tiers and branches wherever a filter names one
    assert bash(tmp_path, f"crm --db {db} --store cafe member list --tier G") == ["Gold"]
    assert bash(tmp_path, f"crm --db {db} --store cafe segment create s --tier S") == ["Silver"]
    assert bash(tmp_path, f"crm --db {db} --store cafe segment create s --branch A") == ["Ari"]
    # commands still complete as Typer does
    assert bash(tmp_path, f"crm --db {db} rep") == ["report"]


def test_store_from_the_environment_and_the_remembered_one(names, tmp_path, monkeypatch):
    db = names.db_url
    monkeypatch.setenv("CRM_DATABASE_URL", db)
    assert bash(tmp_path, "crm branch close ") == ["Ari", "Siam"]  # remembered by `store create cafe`
    assert bash(tmp_path, "crm store use b") == ["bakery"]
    monkeypatch.setenv("CRM_STORE", "bakery")
    assert bash(tmp_path, "crm branch close ") == []
    assert bash(tmp_path, "crm --store cafe branch close A") == ["Ari"]


def test_zsh_and_fish_formats(names, tmp_path):
    db = names.db_url
    out, heavy = complete(tmp_path, {"_CRM_COMPLETE": "complete_zsh",
                                     "_TYPER_COMPLETE_ARGS": f"crm --db {db} --store cafe tier remove "})
    assert out.strip() == """_arguments '*: :(("Silver"\n"Gold"))'""" and heavy == ""
    out, heavy = complete(tmp_path, {"_CRM_COMPLETE": "complete_fish", "_TYPER_COMPLETE_FISH_ACTION": "get-args",
                                     "_TYPER_COMPLETE_ARGS": f"crm --db {db} --store cafe staff move 0812345678 --branch "})
    assert [line for line in out.splitlines() if line] == ["Ari", "Siam"] and heavy == ""


def test_unreachable_database_completes_nothing_quietly(isolated_env, tmp_path):
    missing = tmp_path / "nowhere" / "crm.sqlite3"
    assert bash(tmp_path, f"crm --db sqlite:///{missing} --store ") == []
    assert not missing.exists()  # completion never creates a database
    assert bash(tmp_path, "crm --db postgresql://nobody@127.0.0.1:1/none --store ") == []


@pytest.mark.parametrize("shell, marker, rc", [
    ("bash", "_CRM_COMPLETE=complete_bash", ".bashrc"),
    ("zsh", "_CRM_COMPLETE=complete_zsh", ".zshrc"),
    ("fish", "_CRM_COMPLETE=complete_fish", ".config/fish/completions/crm.fish"),
])
def test_show_and_install_completion(tmp_path, shell, marker, rc):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMP_", "_CRM_"))}
    env.update(HOME=str(tmp_path), _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1", SHELL=f"/bin/{shell}")
    run = [sys.executable, "-m", "crm_cli"]
    shown = subprocess.run([*run, "--show-completion", shell], env=env, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert marker in shown.stdout and "crm" in shown.stdout
    done = subprocess.run([*run, "--install-completion", shell], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"{shell} completion installed" in done.stdout
    assert (tmp_path / rc).exists()
