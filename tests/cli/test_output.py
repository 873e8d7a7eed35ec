"""Output conventions shared by every command: global options in either place, piped
tables that keep every character, sections, Thai display width, Bangkok times, output
files and closed pipes."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

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


# ---------------------------------------------------------------- piped tables (not a terminal)

LONG_NAME = "Khun " + "Wattanakul-" * 17 + "end"  # 195 characters: the column holds 200


def test_piped_tables_never_cut_a_cell(shop):
    shop.ok("store", "edit", "--base-url", "https://crm.example.com/a/very/long/path/for/the/link/base")
    shop.ok("points", "give", "0812345678", "--spend", "100")
    out = shop.ok("member", "list").stdout  # CliRunner's stdout is not a terminal
    assert "+66812345678" in out and "…" not in out
    inv = shop.ok("staff", "invite", "--branch", "Siam").stdout
    token = re.search(r"token\s+([0-9A-Za-z_-]{20,})", inv).group(1)
    link = re.search(r"https://\S+", inv).group(0)
    assert link == f"https://crm.example.com/a/very/long/path/for/the/link/base/staff/join/{token}"
    for fmt in ("table", "plain", "markdown"):
        assert "…" not in shop.ok("staff", "invite", "--branch", "Siam", fmt=fmt).stdout


def test_a_long_name_stays_whole_on_one_line(shop, uow):
    from sqlmodel import select

    from crm_cli.db.models import Member

    shop.ok("points", "give", "0812345678", "--spend", "100")
    with uow() as s:
        m = s.exec(select(Member)).one()
        m.name = LONG_NAME
    for fmt in ("table", "plain", "markdown", "csv"):
        out = shop.ok("member", "list", fmt=fmt).stdout
        assert any(LONG_NAME in line for line in out.splitlines()), fmt


# ---------------------------------------------------------------- Thai display width

THAI = ["สมศรี ใจดี", "น้ำผึ้ง ที่รัก", "Bob"]  # tone marks and vowels above/below take no column


def test_plain_and_markdown_line_up_thai_by_display_width(shop, uow):
    from rich.cells import cell_len
    from sqlmodel import select

    from crm_cli.db.models import Member

    for i in range(len(THAI)):
        shop.ok("points", "give", f"08123456{i:02d}", "--spend", "100")
    with uow() as s:
        for m, name in zip(s.exec(select(Member).order_by(Member.phone)).all(), THAI):
            m.name = name
    plain = shop.ok("member", "list", fmt="plain").stdout.splitlines()
    col = plain[0].index("status")
    starts = set()
    for line in plain[1:]:
        word = "phone-only"
        assert word in line
        starts.add(cell_len(line[: line.index(word)]))
    assert starts == {cell_len(plain[0][:col])}, plain
    for name in THAI[:2]:
        assert any(name in line for line in plain)  # unchanged, marks and all
    md = shop.ok("member", "list", fmt="markdown").stdout.splitlines()
    assert len({cell_len(line) for line in md}) == 1, md
    table = shop.ok("member", "list").stdout.splitlines()
    assert len({cell_len(line) for line in table}) == 1, table


# ---------------------------------------------------------------- times

def test_text_formats_show_bangkok_minutes_and_json_keeps_iso(shop):
    from datetime import datetime

    from freezegun import freeze_time

    with freeze_time("2026-11-29 19:41:07.123456"):  # UTC: 02:41 on the 30th in Bangkok
        shop.ok("points", "give", "0812345678", "--spend", "100")
    for fmt in ("table", "plain", "markdown", "csv"):
        out = shop.ok("member", "list", fmt=fmt).stdout
        assert "2026-11-30 02:41" in out, (fmt, out)
        assert "19:41" not in out and "+00:00" not in out and ".123456" not in out, (fmt, out)
    (row,) = shop.json("member", "list")
    at = datetime.fromisoformat(row["last_activity_at"])
    assert at.utcoffset() is not None and at.isoformat().startswith("2026-11-29T19:41:07")
    history = shop.ok("points", "history", "0812345678", fmt="csv").stdout
    assert "2026-11-30 02:41" in history


def test_ledger_export_expiry_is_the_bangkok_day(shop, tmp_path):
    import csv

    from freezegun import freeze_time

    shop.ok("points", "expiry", "rolling", "12")
    with freeze_time("2027-11-29 19:41:00"):  # 2027-11-30 02:41 Bangkok: valid through 2028-11-30
        given = shop.ok("points", "give", "0812345678", "--spend", "100", fmt="plain").stdout
    assert re.search(r"^expires_at\s+2028-11-30 24:00$", given, re.M), given  # the end of that day, not 12-01 00:00
    out = tmp_path / "ledger.csv"
    shop.ok("points", "export", "--out", str(out))
    with out.open(encoding="utf-8-sig") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["expires_on"] == "2028-11-30"
    bal = shop.json("points", "balance", "0812345678")
    assert bal["lots"][0]["expires_on"] == "2028-11-30"


def test_expired_invite_names_bangkok_time(shop):
    from freezegun import freeze_time

    from crm_cli.domain.errors import Conflict

    with freeze_time("2026-11-29 19:41:00"):
        token = shop.json("staff", "invite", "--branch", "Siam", "--valid-days", "1")["token"]
    with freeze_time("2026-12-05 00:00:00"):
        err = shop.fails(Conflict.exit_code, "staff", "join", token, "--name", "Somchai", "--phone", "0891234567")
    assert err == "error: this invite expired on 2026-12-01 02:41 Bangkok time: ask the store admin for a new invite"


# ---------------------------------------------------------------- sections

def test_points_balance_sections_in_every_format(shop):
    shop.ok("points", "give", "0812345678", "--spend", "350")
    csv_lines = shop.ok("points", "balance", "0812345678", fmt="csv").stdout.splitlines()
    assert csv_lines[0] == "# balance"
    header, values = csv_lines[1].split(","), csv_lines[2].split(",")
    assert dict(zip(header, values))["balance"] == "14" and dict(zip(header, values))["debt"] == "0"
    assert csv_lines[3] == "" and csv_lines[4].startswith("# lots")
    md = shop.ok("points", "balance", "0812345678", fmt="markdown").stdout
    assert md.startswith("## balance\n\n|") and "\n\n## lots (spent soonest-expiring first)\n\n| entry_id" in md
    plain = shop.ok("points", "balance", "0812345678", fmt="plain").stdout
    assert plain.startswith("balance\n") and "\n\nlots (spent soonest-expiring first)\nentry_id" in plain
    table = shop.ok("points", "balance", "0812345678").stdout
    assert "Balance" in table and "Lots (spent soonest-expiring first)" in table
    doc = shop.json("points", "balance", "0812345678")
    assert doc["balance"] == 14 and doc["debt"] == 0 and len(doc["lots"]) == 1


def test_report_liability_and_form_show_are_documents(shop):
    shop.ok("points", "give", "0812345678", "--spend", "350")
    csv_out = shop.ok("report", "liability", "--point-value", "0.25", fmt="csv").stdout
    assert csv_out.startswith("# liability\n") and "\n\n# by_expiry_month\n" in csv_out
    assert shop.ok("form", "show", fmt="markdown").stdout.startswith("## form\n")
    doc = shop.json("form", "show")
    assert isinstance(doc, dict) and "questions" in doc


# ---------------------------------------------------------------- output files

def _bad_targets(tmp_path):
    blocker = tmp_path / "members.csv"
    blocker.write_text("a file, not a folder\n", encoding="utf-8")
    return {
        "under a file": (blocker / "x.xlsx", f"cannot write {blocker / 'x.xlsx'}: {blocker} is a file, not a folder"),
        "proc": (Path("/proc/m.xlsx"), "cannot write /proc/m.xlsx: "),
        "missing folder": (tmp_path / "nowhere" / "m.xlsx", f"folder {tmp_path / 'nowhere'} does not exist"),
        "a folder": (tmp_path, None),
    }


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("ext", [".xlsx", ".csv"])
def test_bad_output_paths_are_one_line_and_leave_nothing(shop, tmp_path, ext):
    from crm_cli.domain.errors import InvalidInput

    shop.ok("points", "give", "0812345678", "--spend", "100")
    for what, (target, message) in _bad_targets(tmp_path).items():
        if target.suffix:
            target = target.with_suffix(ext)
            message = message and message.replace(".xlsx", ext)
        before = _listing(tmp_path)
        for argv in (["member", "export", "--out", str(target)], ["points", "export", "--out", str(target)],
                     ["report", "expiring", "--out", str(target)] if ext == ".csv" else ["member", "template", "--out", str(target)]):
            r = shop(*argv)
            assert r.exit_code == InvalidInput.exit_code, (what, argv, r.output)
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (what, argv, r.stderr)
            if message:
                assert message in lines[0], (what, lines[0])
            assert "Traceback" not in r.output and "Exception" not in r.stderr
        assert _listing(tmp_path) == before, what
    assert not (tmp_path / "nowhere").exists()  # a missing folder is never created


def test_png_pdf_and_json_writers_refuse_bad_paths(shop, tmp_path):
    from crm_cli.domain.errors import InvalidInput

    missing = tmp_path / "nowhere"
    for argv in (["staff", "invite", "--branch", "Siam", "--out", str(missing / "i.png")],
                 ["staff", "invite", "--branch", "Siam", "--qr", str(missing / "i.png")],
                 ["form", "link", "--out", str(missing / "s.png")],
                 ["points", "qr", "--spend", "100", "--branch", "Siam", "--out", str(missing / "q.png")],
                 ["report", "summary", "--out", str(missing / "r.png")],
                 ["report", "summary", "--out", str(missing / "r.json")],
                 ["billing", "invoice", "--month", "2026-10", "--out", str(missing / "i.pdf")]):
        err = shop.fails(InvalidInput.exit_code, *argv)
        assert err == f"error: cannot write {argv[-1]}: folder {missing} does not exist", err
    assert not missing.exists()
    # nothing was done: the invite and the QR code were refused before any work
    assert shop.json("audit", "list") and not any("invited" in a["summary"] or "QR claim" in a["summary"]
                                                    for a in shop.json("audit", "list"))


def test_atomic_writer_leaves_nothing_when_the_write_fails(tmp_path):
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.fileio.outfile import atomic_write

    def boom(tmp):
        Path(tmp).write_text("half", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(InvalidInput, match=r"^cannot write .*out\.csv: No space left on device$"):
        atomic_write(tmp_path / "out.csv", boom)
    assert _listing(tmp_path) == []


# ---------------------------------------------------------------- --out: one meaning everywhere

OUT_COMMANDS = {
    ("member", "export"): (".csv", ".xlsx"),
    ("member", "template"): (".xlsx",),
    ("points", "export"): (".csv", ".xlsx"),
    ("points", "qr"): (".png",),
    ("staff", "invite"): (".png",),
    ("form", "link"): (".png",),
    ("report", "summary"): (".png", ".json"),
    ("report", "expiring"): (".csv", ".xlsx"),
    ("delivery", "export"): (".xlsx",),
    ("billing", "invoice"): (".pdf", ".xlsx", ".json"),
    ("follower", "export"): (".csv", ".xlsx"),
}
#: `db backup --out` also takes a folder to write a dated file into (see README, Backups)
OUT_FOLDER_COMMANDS = {("db", "backup")}


def test_every_out_option_is_the_same_option():
    """Every `--out` is built by crm_cli.cli.options.out_option(EXTENSIONS..., help=...)."""
    root = typer.main.get_command(app)
    seen, odd = set(), []
    for path, cmd in _leaves(root):
        for p in cmd.params:
            if "--out" not in p.opts or path in OUT_FOLDER_COMMANDS:
                continue
            seen.add(path)
            if not (p.opts == ["--out", "-o"] and p.metavar == "FILE" and "The extension picks the format" in (p.help or "")):
                odd.append(" ".join(path))
    assert not odd, f"--out not built with crm_cli.cli.options.out_option: {odd}"
    assert set(OUT_COMMANDS) <= seen, set(OUT_COMMANDS) - seen


@pytest.mark.parametrize("words,allowed", list(OUT_COMMANDS.items()), ids=[" ".join(w) for w in OUT_COMMANDS])
def test_an_unsupported_extension_names_the_allowed_ones(words, allowed, tmp_path):
    from typer.testing import CliRunner

    from crm_cli.domain.errors import InvalidInput

    extra = {("points", "qr"): ["--spend", "100", "--branch", "Siam"], ("staff", "invite"): ["--branch", "Siam"],
             ("billing", "invoice"): ["--month", "2026-10"]}.get(words, [])
    target = tmp_path / "out.txt"
    r = CliRunner().invoke(app, [*words, *extra, "--out", str(target)])
    assert r.exit_code == InvalidInput.exit_code, r.output
    names = allowed[0] if len(allowed) == 1 else ", ".join(allowed[:-1]) + " or " + allowed[-1]
    assert r.stderr.strip() == f"error: --out {target}: cannot write '.txt'; name the file {names}"


def test_out_files_by_extension(shop, tmp_path):
    import json as _json

    inv = tmp_path / "invite.png"
    shop.ok("staff", "invite", "--branch", "Siam", "--out", str(inv))
    qr = tmp_path / "legacy.png"
    shop.ok("staff", "invite", "--branch", "Siam", "--qr", str(qr))  # the older spelling still works
    link = tmp_path / "signup.png"
    shop.ok("form", "link", "--out", str(link))
    for png in (inv, qr, link):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rep = tmp_path / "summary.json"
    shop.ok("report", "summary", "--out", str(rep), fmt="csv")
    doc = _json.loads(rep.read_text(encoding="utf-8"))
    assert doc["store"] == "cafe" and "monthly" in doc


# ---------------------------------------------------------------- a closed pipe

def test_a_closed_pipe_ends_quietly(shop, uow):
    import subprocess
    import sys
    from datetime import datetime, timezone

    from sqlmodel import select

    from crm_cli.db.models import Member, Store

    now = datetime.now(timezone.utc)
    with uow() as s:
        store_id = s.exec(select(Store.id)).one()
        for i in range(1500):
            s.add(Member(store_id=store_id, phone=f"+6681{i:07d}", name=f"Member {i}", source="points", created_at=now))
    # more than a pipe holds (64 KiB): the writer meets the closed pipe mid-output
    for argv, limit in ((["member", "list", "-f", "csv"], "1500"),):
        cmd = [sys.executable, "-m", "crm_cli", "--db", shop.db_url, "--store", "cafe", *argv, "--limit", limit]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = p.stdout.readline()
        p.stdout.close()  # `| head -1`
        err = p.stderr.read()
        p.stderr.close()
        assert p.wait(timeout=60) == 0, (argv, err)
        assert first and err == b"", (argv, err)
    # and the shell pipeline itself, with a table
    r = subprocess.run(f"{shlex.quote(sys.executable)} -m crm_cli --db {shlex.quote(shop.db_url)} --store cafe "
                       "member list --limit 500 | head -1", shell=True, capture_output=True, executable="/bin/bash")
    assert (r.returncode, r.stderr, r.stdout.count(b"\n")) == (0, b"", 1), r
