"""Every example session in README.md and docs/*.md runs, in order, on a fresh database.

What is run:

* a ```sh block: each line is a command (``\\`` continues a line, ``;`` and ``&&`` separate
  commands, ``#`` starts a comment). A comment starting ``# exit N`` means the command is
  expected to exit with N.
* a ```console block (or an unlabelled block whose first line starts with ``$ ``): each ``$ `` line is a command and the lines after it its output. An
  output that starts with ``error:`` means the command is expected to fail; ``$ echo $?``
  followed by N checks the exit code of the command before it.

Markers (HTML comments, invisible on the rendered page), on a line of their own before a block:

* ``<!-- not-run -->``: the block is not run (cron lines, server commands, `make` targets);
* ``<!-- setup: crm store create cafe --name Cafe -->``: a command run there but not shown
  (what a page takes as done before its session starts);
* ``<!-- now: 2027-01-01T10:00+07:00 -->``: the clock from there on (the session starts at
  2026-11-24 10:00 Bangkok; every command moves it one minute on). A command's comment
  ``# (on 2027-01-16)`` sets the clock for that command and after it.

Only ``crm`` commands run (in-process, through CliRunner). Tokens and coupon codes printed
by earlier commands replace the ones a page shows (``TOKEN``, ``5f0c...e1``, or the token a
console block printed), so pages can show real-looking values. Input files a page assumes
(TERMS.md, members.xlsx, codes.txt, codes.csv, bad.csv, sample_data/) are made in the working directory.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
START = "2026-11-24T10:00:00+07:00"
FENCE = re.compile(r"^```(\w*)\s*$")
NOW_MARK = re.compile(r"^<!--\s*now:\s*(\S+)\s*-->\s*$")
SETUP_MARK = re.compile(r"^<!--\s*setup:\s*(.+?)\s*-->\s*$")
ON_COMMENT = re.compile(r"#.*\(on (\d{4}-\d{2}-\d{2}(?:T[\d:]+(?:[+-]\d{2}:\d{2})?)?)[,)]")
EXIT_COMMENT = re.compile(r"#\s*exit (\d+)\b")
TOKEN = re.compile(r"\b[0-9a-f]{40}\b")
TOKEN_PLACEHOLDER = re.compile(r"^(TOKEN|[0-9a-f]{2,8}\.\.\.[0-9a-f]{0,8})$")
COUPON = re.compile(r"coupon[ _]code\W+([A-HJ-NP-Z2-9]{8})\b")


@dataclass
class Command:
    page: str
    line: int
    text: str
    argv: list[str]
    expect_exit: int | None = None  # None: must succeed
    expect_error: bool = False
    check_exit_of_previous: int | None = None  # `echo $?` with its printed value
    now: str | None = None
    output: str = ""  # what a console block shows after it


@dataclass
class Session:
    commands: list[Command] = field(default_factory=list)
    skipped_blocks: int = 0


def _split(text: str) -> list[list[str]]:
    """A logical shell line -> commands (split on ; and &&), comments dropped."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = list(lexer)
    out, cur = [], []
    for w in words:
        if w in (";", "&&"):
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(w)
    if cur:
        out.append(cur)
    return out


def extract(path: Path) -> Session:
    session = Session()
    lines = path.read_text(encoding="utf-8").splitlines()
    skip_next = False
    now: str | None = None
    i = 0
    while i < len(lines):
        raw = lines[i]
        m = NOW_MARK.match(raw.strip())
        if m:
            now = m.group(1)
        if raw.strip() == "<!-- not-run -->":
            skip_next = True
        m = SETUP_MARK.match(raw.strip())
        if m:
            session.commands += _commands(path, i + 1, m.group(1))
        fence = FENCE.match(raw)
        if not fence:
            i += 1
            continue
        lang = fence.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        body = lines[i + 1:j]
        if not lang and next((b for b in body if b.strip()), "").startswith("$ "):
            lang = "console"  # an unlabelled block that is a terminal session
        if lang in ("sh", "console"):
            if skip_next:
                session.skipped_blocks += 1
            else:
                parse = _parse_sh if lang == "sh" else _parse_console
                for cmd in parse(path, i + 2, body):
                    on = ON_COMMENT.search(cmd.text)
                    if on:
                        now = on.group(1)
                    cmd.now, now = now, None  # the clock is set once, then runs on
                    session.commands.append(cmd)
        skip_next = False
        i = j + 1
    return session


def _logical(body: list[str], first_line: int, prefix: str = ""):
    """(line number, text) of each logical line, joining backslash continuations."""
    k = 0
    while k < len(body):
        start = k
        text = body[k][len(prefix):] if prefix else body[k]
        while text.rstrip().endswith("\\") and k + 1 < len(body):
            k += 1
            text = text.rstrip()[:-1] + " " + body[k].strip()
        yield first_line + start, text, k
        k += 1


def _commands(path: Path, line: int, text: str) -> list[Command]:
    out = []
    exit_m = EXIT_COMMENT.search(text)
    for argv in _split(text):
        out.append(Command(page=path.name, line=line, text=text.strip(), argv=argv,
                           expect_exit=int(exit_m.group(1)) if exit_m else None))
    return out


def _parse_sh(path: Path, first: int, body: list[str]) -> list[Command]:
    cmds = []
    for line, text, _end in _logical(body, first):
        if not text.strip() or text.strip().startswith("#"):
            continue
        cmds += _commands(path, line, text)
    return cmds


def _parse_console(path: Path, first: int, body: list[str]) -> list[Command]:
    cmds: list[Command] = []
    k = 0
    while k < len(body):
        if not body[k].startswith("$ "):
            k += 1
            continue
        text = body[k][2:]
        start = k
        while text.rstrip().endswith("\\") and k + 1 < len(body):
            k += 1
            text = text.rstrip()[:-1] + " " + body[k].strip()
        k += 1
        output = []
        while k < len(body) and not body[k].startswith("$ "):
            output.append(body[k])
            k += 1
        found = _commands(path, first + start, text)
        if found and found[-1].argv[:2] == ["echo", "$?"]:
            found[-1].check_exit_of_previous = int(output[0].strip()) if output else None
        elif found:
            found[-1].output = "\n".join(output)
            found[-1].expect_error = any(o.startswith("error:") for o in output)
        cmds += found
    return cmds


# ---------------------------------------------------------------- the working directory


def _inputs(cwd: Path) -> None:
    """The files the pages take as given."""
    (cwd / "TERMS.md").write_text("# Terms\nWe keep your phone, name and purchases to give you points.\n",
                                  encoding="utf-8")
    (cwd / "codes.txt").write_text("".join(f"ONLINE10-{n:04d}\n" for n in range(1, 21)), encoding="utf-8")
    (cwd / "codes.csv").write_text("code\nSHOP100-7QX2\nSHOP100-M4KD\n", encoding="utf-8")
    shutil.copyfile(ROOT / "sample_data" / "members-demo.xlsx", cwd / "members.xlsx")
    (cwd / "bad.csv").write_text(
        "order_id,phone,paid_at,amount,status,refund_amount\n"
        "B1,0812345678,2026-11-20T10:00:00+07:00,250.00,paid,\n"
        "B2,not-a-phone,2026-11-20T10:00:00+07:00,250.00,paid,\n"
        "B3,0812345678,yesterday,-5,shipped,\n",
        encoding="utf-8",
    )
    (cwd / "sample_data").symlink_to(ROOT / "sample_data")


# ---------------------------------------------------------------- running


class Runner:
    def __init__(self, db_url: str):
        from typer.testing import CliRunner

        self.db_url = db_url
        self.cli = CliRunner()
        self.clock = datetime.fromisoformat(START)
        self.last_exit = 0
        self.tokens: dict[str, str] = {}
        self.last_token: str | None = None
        self.coupons: dict[str, str] = {}
        self.last_coupon: str | None = None

    def _substitute(self, argv: list[str]) -> list[str]:
        out = []
        for n, a in enumerate(argv):
            if a in self.tokens:
                a = self.tokens[a]
            elif TOKEN_PLACEHOLDER.match(a) and self.last_token:
                a = self.last_token
            elif n >= 2 and argv[n - 2:n] in (["coupon", "use"], ["coupon", "cancel"]):
                a = self.coupons.get(a, self.last_coupon or a)
            out.append(a)
        return out

    def run(self, cmd: Command) -> str | None:
        """None when the command did what the page says, else the reason."""
        from freezegun import freeze_time

        from crm_cli.cli.app import app

        where = f"{cmd.page}:{cmd.line}: {cmd.text}"
        if cmd.argv[:2] == ["echo", "$?"]:
            if cmd.check_exit_of_previous is not None and cmd.check_exit_of_previous != self.last_exit:
                return f"{where}: the page says exit {cmd.check_exit_of_previous}, the command before exited {self.last_exit}"
            return None
        if cmd.argv[0] != "crm":
            return f"{where}: not a crm command; mark the block <!-- not-run --> if it is not meant to run here"
        if any(w in ("|", ">", "<", ">>") for w in cmd.argv):
            return f"{where}: pipes and redirections are not run; mark the block <!-- not-run -->"
        if cmd.now:
            moment = datetime.fromisoformat(cmd.now)
            if moment.tzinfo is None:
                from crm_cli.domain.timeutil import BKK

                moment = moment.replace(tzinfo=BKK) if "T" in cmd.now else datetime.fromisoformat(
                    cmd.now + "T10:00:00+07:00")
            self.clock = moment
        argv = ["--db", self.db_url] + self._substitute(cmd.argv[1:])
        with freeze_time(self.clock):
            result = self.cli.invoke(app, argv, catch_exceptions=True)
        self.clock += timedelta(minutes=1)
        self.last_exit = result.exit_code
        text = (result.stdout or "") + (result.stderr or "")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            return f"{where}: raised {type(result.exception).__name__}: {result.exception}"
        if "Traceback" in text:
            return f"{where}: printed a traceback"
        self._learn(cmd, text)
        err = (result.stderr or "").strip().splitlines()
        err_line = next((e for e in err if e.startswith("error:")), err[-1] if err else "")
        if cmd.expect_exit is not None:
            if result.exit_code != cmd.expect_exit:
                return f"{where}: the page says exit {cmd.expect_exit}, got {result.exit_code}: {err_line}"
        elif cmd.expect_error:
            if result.exit_code == 0:
                return f"{where}: the page shows an error, the command succeeded"
        elif result.exit_code != 0:
            return f"{where}: exited {result.exit_code}: {err_line}"
        return None

    def _learn(self, cmd: Command, text: str) -> None:
        real = TOKEN.findall(text)
        if real:
            self.last_token = real[-1]
            shown = TOKEN.findall(cmd.output)
            for doc_token in shown:
                self.tokens.setdefault(doc_token, real[-1])
        coupon = COUPON.findall(text)
        if coupon:
            self.last_coupon = coupon[-1]
            for doc_code in COUPON.findall(cmd.output):
                self.coupons.setdefault(doc_code, coupon[-1])


def _echo_follows(commands: list[Command], k: int) -> bool:
    return k + 1 < len(commands) and commands[k + 1].argv[:2] == ["echo", "$?"]


@pytest.fixture
def doc_db(sqlite_template, tmp_path) -> str:
    """A fresh migrated SQLite database: the pages show the embedded default (the services
    under them are tested on both databases elsewhere; this keeps the docs test fast)."""
    target = tmp_path / "docs.sqlite3"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_examples_run(page, doc_db, isolated_env, tmp_path, monkeypatch):
    session = extract(page)
    cwd = tmp_path / "work"
    cwd.mkdir()
    _inputs(cwd)
    monkeypatch.chdir(cwd)
    runner = Runner(doc_db)
    failures = []
    for k, cmd in enumerate(session.commands):
        if _echo_follows(session.commands, k):  # `$ echo $?` after it says how it ends
            cmd.expect_error = cmd.expect_error or bool(session.commands[k + 1].check_exit_of_previous)
        problem = runner.run(cmd)
        if problem:
            failures.append(problem)
            break  # later examples depend on this one
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------- the extractor itself


def test_extractor(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Intro\n\n```sh\ncrm store create cafe --name \"Cafe Siam\"   # comment\n"
        "crm member tag 081 vip ; crm member note 081 \"a # not a comment\"\n"
        "crm points give 081 \\\n  --spend 10   # exit 4\n```\n\n"
        "<!-- not-run -->\n```sh\nmake demo\n```\n\n"
        "<!-- now: 2027-01-01T10:00+07:00 -->\n"
        "```console\n$ crm branch list\n name\n$ crm points claim 0123 --phone 081\nerror: nope\n$ echo $?\n3\n```\n"
        "```python\nprint('not a session')\n```\n",
        encoding="utf-8",
    )
    s = extract(page)
    assert s.skipped_blocks == 1
    assert [c.argv for c in s.commands] == [
        ["crm", "store", "create", "cafe", "--name", "Cafe Siam"],
        ["crm", "member", "tag", "081", "vip"],
        ["crm", "member", "note", "081", "a # not a comment"],
        ["crm", "points", "give", "081", "--spend", "10"],
        ["crm", "branch", "list"],
        ["crm", "points", "claim", "0123", "--phone", "081"],
        ["echo", "$?"],
    ]
    assert s.commands[3].expect_exit == 4 and s.commands[0].expect_exit is None
    assert s.commands[4].now == "2027-01-01T10:00+07:00" and s.commands[0].now is s.commands[5].now is None
    assert s.commands[5].expect_error and not s.commands[4].expect_error
    assert s.commands[6].check_exit_of_previous == 3
