"""Member import, file side only: read + validate speed and peak memory.

    python bench/bench_import_read.py [--quick] [--sizes 5000 100000 1000000] [--repeat N]

Generates member files under /tmp/crm-bench/ (reused across runs): an .xlsx laid out
the way Excel saves it (shared strings, phones as text, birthdays as date cells)
and a UTF-8 .csv (BOM, text birthdays, some in Buddhist-Era years), then measures
in a fresh process per measurement, so each peak RSS is that step's alone:

* ``read``      -- ``read_rows`` only;
* ``validate``  -- ``iter_validated(read_rows(...))``, the streaming form the
                  importer uses (``validate_rows`` would also keep every row);
* ``calamine``  -- python-calamine loading the sheet and iterating it (.xlsx),
                  the fastest parser available, for reference;
* ``csv``       -- the standard csv module iterating the file (.csv), for reference.

Times exclude process start and imports. ``--quick`` runs 5,000 and 100,000 rows.
The database side of the import is benchmarked by ``bench/bench_import.py``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUT = Path(os.environ.get("CRM_BENCH_DIR", "/tmp/crm-bench"))
GENERATOR_VERSION = 2
HEADER = ["เบอร์โทรศัพท์*", "ชื่อ - นามสกุล*", "จำนวนพอยท์*", "เพศ", "วันเกิด", "อีเมล"]
FIRST = ["สมชาย", "สมหญิง", "วิชัย", "นภา", "ปิยะ", "อรุณี", "ธนา", "กมล", "สุดา", "ประเสริฐ", "พิมพ์ชนก", "ณัฐพล"]
LAST = ["ใจดี", "รักไทย", "ศรีสุข", "บุญมา", "แสงทอง", "วงศ์สวัสดิ์", "สุขประเสริฐ", "ทองดี", "เพชรรัตน์"]
GENDERS = ["ชาย", "หญิง", "ไม่ระบุ", "อื่นๆ"]
MOBILE = ["081", "082", "083", "084", "085", "086", "087", "088", "089", "091", "092", "093", "094", "095",
          "096", "097", "098", "099", "061", "062", "063", "064", "065"]


# ---------------------------------------------------------------- data


def member(i: int, rng: random.Random):
    national = f"{MOBILE[i % len(MOBILE)]}{i:07d}"        # unique, valid
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}"
    points = rng.randrange(0, 5000)
    gender = GENDERS[i % 4] if i % 5 else None
    born = date.fromordinal(date(1950, 1, 1).toordinal() + rng.randrange(0, 21000)) if i % 7 else None
    email = f"member{i}@example.com" if i % 3 else None
    return national, name, points, gender, born, email


def write_csv(path: Path, n: int) -> None:
    rng = random.Random(n)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(n):
            national, name, points, gender, born, email = member(i, rng)
            phone = national if i % 4 else f"{national[:3]}-{national[3:6]}-{national[6:]}"
            bday = ""
            if born:
                bday = f"{born.day:02d}/{born.month:02d}/{born.year + (543 if i % 2 else 0)}"
            w.writerow([phone, name, points, gender or "", bday, email or ""])
    tmp.rename(path)


_CT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WB = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="members" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>'
)


def write_xlsx(path: Path, n: int) -> None:
    """An Excel-style workbook: every text cell in the shared-string table."""
    rng = random.Random(n)
    sst: list[str] = []
    index: dict[str, int] = {}

    def s(text: str) -> int:
        i = index.get(text)
        if i is None:
            i = index[text] = len(sst)
            sst.append(text)
        return i

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, data in (("[Content_Types].xml", _CT), ("_rels/.rels", _RELS), ("xl/workbook.xml", _WB),
                           ("xl/_rels/workbook.xml.rels", _WB_RELS), ("xl/styles.xml", _STYLES)):
            z.writestr(name, data)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                      '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                      f'<dimension ref="A1:F{n + 1}"/><sheetData>').encode())
            buf = ['<row r="1" spans="1:6">'
                   + "".join(f'<c r="{c}1" t="s"><v>{s(h)}</v></c>' for c, h in zip("ABCDEF", HEADER)) + "</row>"]
            excel_epoch = date(1899, 12, 30).toordinal()
            for i in range(n):
                r = i + 2
                national, name, points, gender, born, email = member(i, rng)
                cells = [f'<c r="A{r}" s="2" t="s"><v>{s(national)}</v></c>',
                         f'<c r="B{r}" t="s"><v>{s(name)}</v></c>',
                         f'<c r="C{r}"><v>{points}</v></c>']
                if gender:
                    cells.append(f'<c r="D{r}" t="s"><v>{s(gender)}</v></c>')
                if born:
                    cells.append(f'<c r="E{r}" s="1"><v>{born.toordinal() - excel_epoch}</v></c>')
                if email:
                    cells.append(f'<c r="F{r}" t="s"><v>{s(email)}</v></c>')
                buf.append(f'<row r="{r}" spans="1:6">' + "".join(cells) + "</row>")
                if len(buf) >= 5000:
                    fh.write("".join(buf).encode())
                    buf = []
            buf.append("</sheetData></worksheet>")
            fh.write("".join(buf).encode())
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                      '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                      f'count="{len(sst)}" uniqueCount="{len(sst)}">').encode())
            for k in range(0, len(sst), 10000):
                fh.write("".join(f"<si><t>{escape(t)}</t></si>" for t in sst[k:k + 10000]).encode())
            fh.write(b"</sst>")
    tmp.rename(path)


def ensure(kind: str, n: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"members-{n}-v{GENERATOR_VERSION}.{kind}"
    if not path.exists():
        t = time.perf_counter()
        (write_xlsx if kind == "xlsx" else write_csv)(path, n)
        print(f"  generated {path} ({path.stat().st_size / 2**20:.1f} MB) in {time.perf_counter() - t:.1f} s",
              flush=True)
    return path


# ---------------------------------------------------------------- one measurement (child process)


def peak_rss_mb() -> float:
    """This process's peak resident set size. /proc's VmHWM starts afresh at exec;
    ru_maxrss would carry over the parent's peak from before the fork."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(mode: str, path: Path) -> dict:
    from crm_cli.fileio.member_rows import iter_validated, read_rows

    base = peak_rss_mb()
    t = time.perf_counter()
    cpu = time.process_time()
    rows = errors = 0
    if mode == "read":
        for _ in read_rows(path):
            rows += 1
    elif mode == "validate":
        for item in iter_validated(read_rows(path), max_rows=10**9, today=date(2026, 1, 1)):
            if item.__class__.__name__ == "MemberRow":
                rows += 1
            else:
                errors += 1
    elif mode == "calamine":
        import python_calamine

        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        for _ in wb.get_sheet_by_index(0).iter_rows():
            rows += 1
        rows -= 1
    elif mode == "csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            for _ in csv.reader(fh):
                rows += 1
        rows -= 1
    else:
        raise SystemExit(f"unknown mode {mode}")
    elapsed = time.perf_counter() - t
    return {
        "mode": mode, "file": path.name, "rows": rows, "errors": errors, "seconds": elapsed,
        "cpu_seconds": time.process_time() - cpu,
        "peak_rss_mb": peak_rss_mb(), "base_rss_mb": base,
    }


def run_child(mode: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{mode} {path.name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="5,000 and 100,000 rows only")
    ap.add_argument("--sizes", type=int, nargs="*", help="row counts (default 5000 100000 1000000)")
    ap.add_argument("--repeat", type=int, default=None, help="runs per measurement; the best is kept")
    ap.add_argument("--json", action="store_true", help="print the results as JSON too")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return 0

    sizes = args.sizes or ([5000, 100_000] if args.quick else [5000, 100_000, 1_000_000])
    print(f"member file read + validate (python {sys.version.split()[0]}, {os.cpu_count()} CPUs); "
          f"command: python bench/bench_import_read.py {' '.join(sys.argv[1:])}".rstrip(), flush=True)
    results = []
    for n in sizes:
        repeat = args.repeat or (3 if n <= 100_000 else 1)
        for kind, modes in (("csv", ["csv", "read", "validate"]), ("xlsx", ["calamine", "read", "validate"])):
            path = ensure(kind, n)
            for mode in modes:
                runs = [run_child(mode, path) for _ in range(repeat)]
                best = min(runs, key=lambda r: r["seconds"])
                best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
                best["size"] = n
                best["kind"] = kind
                results.append(best)
                print(f"  {kind:4} {n:>9,} rows  {mode:9} {best['seconds']:8.3f} s (cpu {best['cpu_seconds']:7.3f} s)  "
                      f"{best['rows'] / best['seconds']:>10,.0f} rows/s  peak RSS {best['peak_rss_mb']:6.0f} MB"
                      f"  (after imports {best['base_rss_mb']:.0f} MB)", flush=True)
    print()
    print("| file | rows | step | seconds | CPU seconds | rows/s | rows/CPU-s | peak RSS MB |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['kind']} | {r['size']:,} | {r['mode']} | {r['seconds']:.3f} | {r['cpu_seconds']:.3f} | "
              f"{r['rows'] / r['seconds']:,.0f} | {r['rows'] / max(r['cpu_seconds'], 1e-9):,.0f} | "
              f"{r['peak_rss_mb']:.0f} |")
    print("\n(rows/CPU-s is the figure to compare on a busy machine; seconds are wall-clock.)")
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
