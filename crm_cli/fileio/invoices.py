"""Invoice files: JSON, XLSX (openpyxl) and PDF (fpdf2), imported lazily.

The PDF uses DejaVu Sans when it is installed (it has no Thai glyphs, so a Thai
store name is replaced by the store's slug), else the built-in Helvetica with
ASCII text only.
"""

from __future__ import annotations

import json
from pathlib import Path

EXTENSIONS = (".pdf", ".xlsx", ".json")
DEJAVU_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


def check_out_path(path: Path) -> None:
    from crm_cli.fileio.outfile import check_out

    check_out(path, EXTENSIONS)


def write_invoices(path: Path, views: list) -> None:
    from crm_cli.fileio.outfile import atomic_write

    check_out_path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        from crm_cli.domain.plain import to_plain

        data = to_plain(views[0]) if len(views) == 1 else to_plain(views)
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    elif suffix == ".xlsx":
        atomic_write(path, lambda tmp: _xlsx(Path(tmp), views))
    else:
        atomic_write(path, lambda tmp: _pdf(Path(tmp), views))


def _xlsx(path: Path, views: list) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Invoices"
    head = ["number", "store", "store_name", "month", "issued", "due_date", "status", "subtotal", "vat", "total"]
    ws.append(head)
    for v in views:
        ws.append([v.number, v.store, v.store_name, v.month, _day(v.issued_at), _day(v.due_date), v.status,
                   v.subtotal, v.vat, v.total])
    lines = wb.create_sheet("Lines")
    lines.append(["number", "plan", "description", "period_start", "period_end", "days", "days_in_month", "rate", "amount"])
    for v in views:
        for ln in v.lines:
            lines.append([v.number, ln.plan, ln.description, _day(ln.period_start), _day(ln.period_end), ln.days,
                          ln.days_in_month, ln.rate, ln.amount])
    for sheet, money_cols in ((ws, (8, 9, 10)), (lines, (8, 9))):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in sheet.iter_rows(min_row=2):
            for c in money_cols:
                row[c - 1].number_format = "#,##0.00"
    wb.save(path)


def _day(value) -> str | None:
    """Days as ISO text (YYYY-MM-DD): unambiguous in every spreadsheet locale."""
    if value is None:
        return None
    if hasattr(value, "hour"):
        from crm_cli.domain.timeutil import bkk_date

        value = bkk_date(value)
    return value.isoformat()


def _font_path() -> str | None:
    for p in DEJAVU_CANDIDATES:
        if Path(p).is_file():
            return p
    return None


def _safe(text: str, slug: str, unicode_font: bool) -> str:
    if unicode_font:
        return slug if any("\u0e00" <= ch <= "\u0e7f" for ch in text) else text
    return text if text.isascii() else slug


def _pdf(path: Path, views: list) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    font = _font_path()
    family = "Helvetica"
    if font:
        pdf.add_font("DejaVu", "", font)
        family = "DejaVu"
    unicode_font = font is not None

    def txt(value: str, slug: str) -> str:
        return _safe(value, slug, unicode_font)

    for v in views:
        pdf.add_page()
        pdf.set_font(family, size=16)
        pdf.cell(0, 10, "Invoice " + v.number, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=10)
        for label, value in (
            ("Store", f"{txt(v.store_name, v.store)} ({v.store})"),
            ("Month", v.month),
            ("Issued", v.issued_at.date().isoformat() if v.issued_at else ""),
            ("Due", v.due_date.isoformat() if v.due_date else ""),
            ("Status", v.status),
        ):
            pdf.cell(30, 6, label)
            pdf.cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        widths = (100, 15, 15, 25, 25)
        pdf.set_font(family, size=9)
        for w, h in zip(widths, ("Description", "Days", "Of", "Rate", "Amount")):
            pdf.cell(w, 7, h, border=1)
        pdf.ln()
        for ln in v.lines:
            pdf.cell(widths[0], 7, txt(ln.description, v.store)[:70], border=1)
            pdf.cell(widths[1], 7, str(ln.days), border=1, align="R")
            pdf.cell(widths[2], 7, str(ln.days_in_month), border=1, align="R")
            pdf.cell(widths[3], 7, f"{ln.rate:,.2f}", border=1, align="R")
            pdf.cell(widths[4], 7, f"{ln.amount:,.2f}", border=1, align="R")
            pdf.ln()
        for label, value in (("Subtotal", v.subtotal), ("VAT 7%", v.vat), ("Total (THB)", v.total)):
            pdf.cell(sum(widths[:4]), 7, label, align="R")
            pdf.cell(widths[4], 7, f"{value:,.2f}", border=1, align="R")
            pdf.ln()
    pdf.output(str(path))
