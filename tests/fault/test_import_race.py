"""Two `crm member import` processes of the same file into the same empty store at once.

On PostgreSQL both may find the store empty and COPY straight into the tables; the second
then meets the first's phones in the unique index. On SQLite the second waits for the
write lock and finds the members there. Either way exactly one import lands, the other
ends with one clear line (exit 4: refused, or exit 5: the phones already exist) and
writes nothing, and the store holds the file once.
"""

from __future__ import annotations

import subprocess

from sqlalchemy import create_engine, text

from crm_cli.domain.errors import ExitCode
from tests.support import crm_command, crm_env

ROWS = 3000


def _file(tmp_path):
    p = tmp_path / "race.csv"
    lines = ["เบอร์โทรศัพท์*,ชื่อ - นามสกุล*,จำนวนพอยท์*,เพศ,วันเกิด,อีเมล"]
    lines += [f"08{i:08d},Member {i},{i % 50},,," for i in range(ROWS)]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_two_imports_of_one_file_into_an_empty_store(shop, db_url, tmp_path):
    path = _file(tmp_path)
    env = crm_env(tmp_path)
    argv = crm_command("--db", db_url, "--store", "cafe", "member", "import", str(path), "--branch", "Siam")
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        results.append((p.returncode, err.decode()))
    codes = sorted(code for code, _ in results)
    assert codes[0] == ExitCode.SUCCESS and codes[1] in (ExitCode.CONFLICT, ExitCode.INVALID_INPUT), results
    loser = next(err for code, err in results if code != 0)
    assert "Traceback" not in loser and "internal error" not in loser, loser
    assert "nothing was" in loser, loser  # "nothing was written" / "nothing was imported"
    eng = create_engine(db_url)
    try:
        with eng.connect() as c:
            members, lots, points, imports = c.execute(text(
                "SELECT (SELECT COUNT(*) FROM member), (SELECT COUNT(*) FROM ledger_entry), "
                "(SELECT COALESCE(SUM(points), 0) FROM ledger_entry), "
                "(SELECT COUNT(*) FROM audit_log WHERE command = 'member import')")).one()
    finally:
        eng.dispose()
    assert members == ROWS
    assert lots == sum(1 for i in range(ROWS) if i % 50)
    assert points == sum(i % 50 for i in range(ROWS))
    assert imports == 1
