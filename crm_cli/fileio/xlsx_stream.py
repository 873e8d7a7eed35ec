"""A streaming .xlsx reader for untrusted workbooks (the member import).

``python-calamine`` parses fastest but builds the whole sheet in memory (about
600 MB for 1,000,000 rows of six columns) and, worse, sizes that grid from the
cells' extremes: a 1 KB file with one cell in ``A1`` and one in ``XFD1048576``
makes it request 512 GB and *abort the process* (a Rust allocation failure cannot
be caught). So an untrusted workbook is never handed to it. Instead the sheet XML
is streamed out of the zip and parsed chunk by chunk: a regular-expression scanner
handles the cell layout every common writer produces (Excel, LibreOffice, Google
Sheets, openpyxl, xlsxwriter), checks that it accounted for every ``<c>`` element
in the chunk, and hands any chunk it cannot fully account for to ElementTree.
Shared strings are loaded lazily, only as far as the rows read so far need them,
into one UTF-8 buffer plus an offset array (a Python list of a million strings
would cost ~200 MB). Memory stays bounded (about 1 MB of XML at a time plus the
shared strings) and reading stops as soon as the caller stops, e.g. at the row
limit. Before any parsing, the zip directory is checked: sizes, compression ratios,
entry count, and a sheet ``<dimension>`` that claims the sheet's last row.
"""

from __future__ import annotations

import html
import math
import posixpath
import re
import zipfile
import zlib
from array import array
from datetime import datetime, timedelta
from itertools import accumulate, islice
from pathlib import Path
from typing import Iterator
from xml.etree import ElementTree as ET

from crm_cli.fileio.member_columns import (
    BadFile,
    ReadInfo,
    find_header,
    missing_columns_error,
    no_header_error,
)

__all__ = ["read_xlsx"]

# Limits for the zip container (checked on the directory before any parsing).
MAX_ZIP_ENTRIES = 10_000
MAX_PART_BYTES = 1 << 30            # one XML part, uncompressed
MAX_TOTAL_BYTES = 2 << 30           # all parts we may read, uncompressed
MAX_RATIO = 100                     # uncompressed / compressed, for parts over RATIO_MIN_BYTES
RATIO_MIN_BYTES = 4 << 20
MAX_SMALL_PART = 32 << 20           # workbook.xml, styles.xml, rels
MAX_ROW_BYTES = 32 << 20            # one <row> element
EXCEL_MAX_ROW = 1_048_576
CHUNK = 1 << 20


_NS_REL_OFFICEDOC = "/officeDocument"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Workbook:
    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        try:
            self.zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise BadFile(f"{self.name}: the workbook is damaged ({exc}); open it in Excel and save it again") from None
        except (OSError, EOFError, ValueError) as exc:
            raise BadFile(f"{self.name}: the workbook cannot be opened ({exc}); open it in Excel and save it again") from None
        try:
            self._check_directory()
            self.names = {i.filename.lower(): i.filename for i in self.zf.infolist()}
            self._load_workbook()
        except BaseException:
            self.zf.close()
            raise

    def close(self):
        self.zf.close()

    # -- zip bomb & damage checks --------------------------------------------
    def _check_directory(self):
        infos = self.zf.infolist()
        if not infos:
            raise BadFile(f"{self.name}: the workbook is empty (no parts in the zip); open it in Excel and save it again")
        if len(infos) > MAX_ZIP_ENTRIES:
            raise BadFile(f"{self.name}: the zip holds {len(infos):,} parts, far more than a workbook has; refusing it")
        total = 0
        for i in infos:
            if i.flag_bits & 0x1:
                raise BadFile(f"{self.name}: the workbook is encrypted; remove the password and save it again")
            if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise BadFile(f"{self.name}: part {i.filename} uses an unsupported compression; open the file in Excel and save it again")
            size = i.file_size
            if size > MAX_PART_BYTES:
                raise BadFile(
                    f"{self.name}: part {i.filename} would unpack to {size / 2**20:,.0f} MB "
                    f"(limit {MAX_PART_BYTES / 2**20:,.0f} MB); this is a zip bomb or far too big -- split the data into smaller files"
                )
            if size > RATIO_MIN_BYTES and size > MAX_RATIO * max(i.compress_size, 1):
                raise BadFile(
                    f"{self.name}: part {i.filename} would unpack {size / max(i.compress_size, 1):,.0f} times its size "
                    f"({size / 2**20:,.0f} MB); refusing a likely zip bomb -- export the sheet again from Excel"
                )
            total += size
        if total > MAX_TOTAL_BYTES:
            raise BadFile(
                f"{self.name}: the workbook would unpack to {total / 2**20:,.0f} MB "
                f"(limit {MAX_TOTAL_BYTES / 2**20:,.0f} MB); split the data into smaller files"
            )

    def part(self, name: str) -> str | None:
        return self.names.get(name.lstrip("/").lower())

    def read_small(self, name: str) -> bytes:
        real = self.part(name)
        if real is None:
            raise BadFile(f"{self.name}: the workbook is missing its part {name}; open it in Excel and save it again")
        info = self.zf.getinfo(real)
        if info.file_size > MAX_SMALL_PART:
            raise BadFile(f"{self.name}: part {name} is {info.file_size / 2**20:,.0f} MB, far too big; open it in Excel and save it again")
        try:
            return self.zf.read(real)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise BadFile(f"{self.name}: the workbook is damaged ({exc}); open it in Excel and save it again") from None

    def parse_small(self, name: str):
        data = self.read_small(name)
        if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
            raise BadFile(f"{self.name}: part {name} declares XML entities, which workbooks never do; refusing it")
        try:
            return ET.fromstring(data)
        except ET.ParseError as exc:
            raise BadFile(f"{self.name}: part {name} is not valid XML ({exc}); open the file in Excel and save it again") from None

    def _rels(self, part_name: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, absolute target) for a part."""
        d, base = posixpath.split(part_name)
        rels_name = posixpath.join(d, "_rels", base + ".rels")
        if self.part(rels_name) is None:
            return {}
        root = self.parse_small(rels_name)
        out = {}
        for rel in root:
            if _local(rel.tag) != "Relationship":
                continue
            target = rel.get("Target") or ""
            if rel.get("TargetMode") == "External":
                continue
            if target.startswith("/"):
                full = target.lstrip("/")
            else:
                full = posixpath.normpath(posixpath.join(d, target))
            out[rel.get("Id")] = (rel.get("Type") or "", full)
        return out

    def _load_workbook(self):
        if self.part("[Content_Types].xml") is None and self.part("xl/workbook.xml") is None:
            raise BadFile(f"{self.name}: this zip file is not an Excel workbook; save the sheet as .xlsx or CSV UTF-8")
        wb_name = "xl/workbook.xml"
        for rtype, target in self._rels("").values():
            if rtype.endswith(_NS_REL_OFFICEDOC):
                wb_name = target
        if self.part(wb_name) is None:
            if self.part("xl/workbook.bin") is not None:
                raise BadFile(f"{self.name}: this is a binary workbook (.xlsb); save it as .xlsx (Excel Workbook)")
            raise BadFile(f"{self.name}: this zip file is not an Excel workbook (no xl/workbook.xml); save the sheet as .xlsx")
        root = self.parse_small(wb_name)
        rels = self._rels(wb_name)
        self.date1904 = False
        self.sheets: list[tuple[str, str]] = []
        for el in root.iter():
            tag = _local(el.tag)
            if tag == "workbookPr":
                self.date1904 = (el.get("date1904") or "").lower() in ("1", "true")
            elif tag == "sheet":
                rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), None)
                rel = rels.get(rid)
                if rel and rel[0].endswith("/worksheet") and self.part(rel[1]):
                    self.sheets.append((el.get("name") or "?", self.part(rel[1])))
        if not self.sheets:
            raise BadFile(f"{self.name}: the workbook has no worksheets; put the members on a sheet and save again")
        sst_name = styles_name = None
        for rtype, target in rels.values():
            if rtype.endswith("/sharedStrings"):
                sst_name = self.part(target)
            elif rtype.endswith("/styles"):
                styles_name = self.part(target)
        self.date_styles = self._date_styles(styles_name) if styles_name else []
        self.sst = _SharedStrings(self, sst_name)

    def _date_styles(self, styles_name: str) -> list[bool]:
        root = self.parse_small(styles_name)
        formats: dict[int, str] = {}
        xfs: list[bool] = []
        for el in root:
            tag = _local(el.tag)
            if tag == "numFmts":
                for nf in el:
                    try:
                        formats[int(nf.get("numFmtId", "-1"))] = nf.get("formatCode") or ""
                    except ValueError:
                        pass
            elif tag == "cellXfs":
                for xf in el:
                    try:
                        fid = int(xf.get("numFmtId", "0"))
                    except ValueError:
                        fid = 0
                    xfs.append(fid)
        return [_is_date_format_id(fid, formats.get(fid)) for fid in xfs]

    # -- sheets ----------------------------------------------------------------
    def chunks(self, sheet_part: str, colmap: dict | None, after: int = 0, piece: int | None = None):
        return _SheetReader(self, sheet_part).chunks(colmap, after, piece)


_BUILTIN_DATE_IDS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59)) | set(range(71, 82))
_FMT_QUOTED = re.compile(r'"[^"]*"|\\.|_.|\*.')
_FMT_ELAPSED = re.compile(r"\[(h+|m+|s+)\]", re.I)
_FMT_BRACKET = re.compile(r"\[[^\]]*\]")
_FMT_NOT_DATE = re.compile(r"general|e[+-]", re.I)
_FMT_DATE_TOKEN = re.compile(r"[dmyhsbgeวดปชนท]", re.I)


def _is_date_format_id(fid: int, code: str | None) -> bool:
    if code is None:
        return fid in _BUILTIN_DATE_IDS
    return _is_date_format(code)


def _is_date_format(code: str) -> bool:
    c = _FMT_QUOTED.sub("", code)
    if _FMT_ELAPSED.search(c):
        return True
    c = _FMT_BRACKET.sub("", c).split(";")[0]
    c = _FMT_NOT_DATE.sub("", c)
    return _FMT_DATE_TOKEN.search(c) is not None


def _excel_date(serial: float, date1904: bool):
    """An Excel serial day number as a date (whole) or datetime (with a time)."""
    if not math.isfinite(serial) or serial < 0 or serial > 2958465:
        return serial
    if date1904:
        base = datetime(1904, 1, 1)
    elif serial < 60:
        base = datetime(1899, 12, 31)
    elif serial < 61:
        return serial  # 1900-02-29 does not exist (a Lotus 1-2-3 bug Excel keeps)
    else:
        base = datetime(1899, 12, 30)
    days = int(serial)
    frac = serial - days
    if frac == 0:
        return (base + timedelta(days=days)).date()
    return base + timedelta(days=days, seconds=round(frac * 86400))


# =============================================================================
# XLSX: text helpers
# =============================================================================

_X_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def _unescape_text(s: str) -> str:
    if "&" in s:
        s = html.unescape(s)
    if "_x" in s:
        s = _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), s)
    return s


def _x_unescape(s: str) -> str:
    """Only the OOXML ``_xHHHH_`` escapes (for text ElementTree already decoded)."""
    if "_x" in s:
        s = _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), s)
    return s


def _xml_text(b: bytes) -> str:
    """Character data of an XML fragment with no elements left in it."""
    s = b.decode("utf-8", errors="replace")
    if "<![CDATA[" in s:
        parts = _CDATA.split(s)
        return "".join(_unescape_text(p) if i % 2 == 0 else p for i, p in enumerate(parts))
    return _unescape_text(s)


class _Regexes:
    """Regular expressions for a main-namespace prefix ('' or e.g. 'x:')."""

    _cache: dict[bytes, "_Regexes"] = {}

    def __init__(self, p: bytes):
        e = re.escape(p)
        self.p = p
        # (column letters, row digits, other attributes, <v> text, simple inline text, any other content)
        self.cell = re.compile(
            rb"<" + e + rb'c r="([A-Z]{1,3})(\d+)"([^>/]*)(?:/>|>(?:<' + e
            + rb"v>([^<]*)</" + e + rb"v>|<" + e + rb"is><" + e + rb't(?: xml:space="preserve")?>([^<]*)</'
            + e + rb"t></" + e + rb"is>|(.*?))</" + e + rb"c>)",
            re.S,
        )
        self.cell_start = re.compile(rb"<" + e + rb"c[\s/>]")
        self.row_start = b"<" + p + b"row"
        self.sheetdata_start = re.compile(rb"<" + e + rb"sheetData(\s[^>]*)?(/?)>")
        self.sheetdata_end = b"</" + p + b"sheetData>"
        self.v = re.compile(rb"<" + e + rb"v(?:\s[^>]*)?>(.*?)</" + e + rb"v>", re.S)
        self.inline = re.compile(rb"<" + e + rb"is(?:\s[^>]*)?>(.*?)</" + e + rb"is>", re.S)
        self.t = re.compile(rb"<" + e + rb"t(?:\s[^>]*)?>(.*?)</" + e + rb"t>", re.S)
        self.rph = re.compile(rb"<" + e + rb"rPh\b.*?</" + e + rb"rPh>", re.S)
        self.si_simple = re.compile(
            rb"<" + e + rb"si><" + e + rb't(?: xml:space="preserve")?>([^<&]*)</' + e + rb"t></" + e + rb"si>"
        )
        self.si_any = re.compile(rb"<" + e + rb"si(?:\s[^>]*)?>(.*?)</" + e + rb"si>|<" + e + rb"si\s*/>", re.S)
        self.si_start = re.compile(rb"<" + e + rb"si[\s/>]")
        self.si_end = b"</" + p + b"si>"

    @classmethod
    def get(cls, p: bytes) -> "_Regexes":
        r = cls._cache.get(p)
        if r is None:
            r = cls._cache[p] = cls(p)
        return r

    def rich_text(self, content: bytes) -> str:
        if b"rPh" in content:
            content = self.rph.sub(b"", content)
        return _xml_text(b"".join(self.t.findall(content)))


_ROOT_TAG = re.compile(rb"<(?!\?|!)([\w.-]+:)?([\w.-]+)([^>]*)>")
_NSDECL = re.compile(rb"""xmlns(?::[\w.-]+)?\s*=\s*(?:"[^"]*"|'[^']*')""")


def _root_prefix(head: bytes, what: str, name: str) -> tuple[bytes, bytes]:
    m = _ROOT_TAG.search(head)
    if not m:
        raise BadFile(f"{name}: the {what} part is not valid XML; open the file in Excel and save it again")
    prefix = m.group(1) or b""
    decls = b" ".join(_NSDECL.findall(m.group(3)))
    return prefix, decls


# =============================================================================
# XLSX: shared strings, loaded lazily into one buffer
# =============================================================================

class _SharedStrings:
    def __init__(self, wb: _Workbook, part: str | None):
        self.wb = wb
        self.blob = bytearray()
        self.offs = array("I", [0])
        self._stream = None
        self._buf = b""
        self._rx = None
        self._part = part
        self._started = False

    def close(self):
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def get(self, i: int) -> str:
        offs = self.offs
        while i + 1 >= len(offs):
            if not self._more():
                raise BadFile(
                    f"{self.wb.name}: a cell refers to shared text #{i} but the workbook has only "
                    f"{len(offs) - 1}; the file is damaged -- open it in Excel and save it again"
                )
        return self.blob[offs[i]:offs[i + 1]].decode("utf-8")

    def _more(self) -> bool:
        """Parse the next chunk of sharedStrings.xml; False at its end."""
        if self._part is None:
            return False
        try:
            if not self._started:
                self._started = True
                self._stream = self.wb.zf.open(self._part)
                head = b""
                while True:
                    chunk = self._stream.read(CHUNK)
                    head += chunk
                    if _ROOT_TAG.search(head) or not chunk or len(head) > MAX_SMALL_PART:
                        break
                prefix, _ = _root_prefix(head, "shared strings", self.wb.name)
                self._rx = _Regexes.get(prefix)
                self._buf = head
                self._process_available(final=not chunk)
                if not chunk:
                    self.close()
                return True
            if self._stream is None:
                return False
            chunk = self._stream.read(CHUNK)
            if not chunk:
                self._process_available(final=True)
                self.close()
                return True
            self._buf += chunk
            self._process_available(final=False)
            return True
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BadFile(f"{self.wb.name}: the workbook is damaged ({exc}); open it in Excel and save it again") from None

    def _process_available(self, final: bool):
        rx = self._rx
        buf = self._buf
        if final:
            end = len(buf)
        else:
            end = buf.rfind(rx.si_end)
            if end < 0:
                if len(buf) > MAX_ROW_BYTES:
                    raise BadFile(f"{self.wb.name}: a text cell is larger than {MAX_ROW_BYTES >> 20} MB; this is not a member list")
                return
            end += len(rx.si_end)
        part, self._buf = buf[:end], buf[end:]
        if not part:
            return
        texts = rx.si_simple.findall(part)
        n_si = len(rx.si_start.findall(part))
        if len(texts) == n_si:
            joined = b"".join(texts)
            if b"_x" not in joined:
                base = self.offs[-1]
                self.blob += joined
                self.offs.extend(islice(accumulate(map(len, texts), initial=base), 1, None))
                return
        for m in rx.si_any.finditer(part):
            content = m.group(1)
            if not content:
                s = b""
            else:
                s = rx.rich_text(content).encode("utf-8")
            self.blob += s
            self.offs.append(len(self.blob))


# =============================================================================
# XLSX: sheet streaming
# =============================================================================

class _SheetReader:
    def __init__(self, wb: _Workbook, part: str):
        self.wb = wb
        self.part = part
        self.dimension: str | None = None

    def chunks(self, colmap: dict | None, after: int = 0, piece: int | None = None) -> Iterator[list]:
        """Yield lists of (row number, {key: value}) for rows after ``after``, about
        ``piece`` bytes of XML at a time. With a ``colmap`` ({b'A': 'phone', ...})
        only those columns are kept, keyed by field; without, every column is kept,
        keyed by its letters (bytes)."""
        wb = self.wb
        try:
            with wb.zf.open(self.part) as f:
                yield from self._chunks(f, colmap, after, piece or CHUNK)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BadFile(f"{wb.name}: the workbook is damaged ({exc}); open it in Excel and save it again") from None

    def _chunks(self, f, colmap, after, piece):
        wb = self.wb
        name = wb.name
        # ---- the head, up to <sheetData> ----
        buf = b""
        while True:
            chunk = f.read(min(CHUNK, max(piece, 1 << 16)))
            buf += chunk
            if _ROOT_TAG.search(buf) is not None:
                prefix, nsdecls = _root_prefix(buf, "sheet", name)
                rx = _Regexes.get(prefix)
                m = rx.sheetdata_start.search(buf)
                if m is not None:
                    break
            if not chunk:
                return  # no sheetData: an empty sheet
            if len(buf) > MAX_SMALL_PART:
                raise BadFile(f"{name}: the sheet XML has no data section in its first {MAX_SMALL_PART >> 20} MB; open the file in Excel and save it again")
        dim = re.search(rb"<" + re.escape(prefix) + rb'dimension\s+ref="([^"]*)"', buf[: m.start()])
        if dim:
            self.dimension = dim.group(1).decode("ascii", "replace")
            last = re.findall(r"\d+", self.dimension.split(":")[-1])
            if last and int(last[-1]) >= EXCEL_MAX_ROW:
                raise BadFile(
                    f"{name}: the sheet claims {EXCEL_MAX_ROW:,} rows (dimension {self.dimension}), "
                    "so it was formatted or filled to Excel's last row or the data was cut off; "
                    "copy only the member rows into a new sheet and save again"
                )
        if m.group(2) == b"/":
            return  # <sheetData/>
        buf = buf[m.end():]
        ctx = _CellContext(wb, rx, nsdecls)
        end_tag = rx.sheetdata_end
        row_tag = rx.row_start
        eof = False
        while True:
            # Cut off whole rows: everything before the last row start within `piece`.
            end = buf.find(end_tag)
            if end >= 0:
                cut = _last_row_start(buf, row_tag, piece) if end > piece else 0
                if cut <= 0:
                    yield ctx.parse(buf[:end], colmap, after)
                    return
                part, buf = buf[:cut], buf[cut:]
                yield ctx.parse(part, colmap, after)
                continue
            if len(buf) >= piece or eof:
                cut = _last_row_start(buf, row_tag, piece)
                if cut <= 0 and len(buf) > piece:
                    cut = _last_row_start(buf, row_tag, len(buf))
                if cut > 0:
                    part, buf = buf[:cut], buf[cut:]
                    yield ctx.parse(part, colmap, after)
                    continue
                if eof:
                    # No closing </sheetData>: a truncated sheet; what is left must parse.
                    if buf.strip():
                        yield ctx.parse(buf, colmap, after)
                    return
            if len(buf) > MAX_ROW_BYTES:
                raise BadFile(f"{name}: one row of the sheet is larger than {MAX_ROW_BYTES / 2**20:g} MB; this is not a member list")
            chunk = f.read(piece)
            if chunk:
                buf += chunk
            else:
                eof = True


def _last_row_start(buf: bytes, tag: bytes, limit: int) -> int:
    """Where the last <row> element that starts before ``limit`` begins (0 or -1: none)."""
    pos = min(len(buf), limit)
    n = len(tag)
    while True:
        pos = buf.rfind(tag, 0, pos)
        if pos <= 0:
            return pos
        if buf[pos + n:pos + n + 1] in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
            return pos


_K_SST, _K_NUMBER, _K_DATE = "s", "n", "n-date"
_ATTR_T = re.compile(rb'\bt="([^"]*)"')
_ATTR_S = re.compile(rb'\bs="(\d+)"')


class _AllColumns(dict):
    """A column map that keeps every column, keyed by its letters."""

    def get(self, key, default=None):
        return key


class _CellContext:
    """Turns chunks of <row> elements into rows of Python values."""

    def __init__(self, wb: _Workbook, rx: _Regexes, nsdecls: bytes):
        self.wb = wb
        self.rx = rx
        self.nsdecls = nsdecls
        self.kinds: dict[bytes, str] = {}
        self.dates: dict[bytes, object] = {}
        self.last_row = 0
        self.date_styles = wb.date_styles
        self.date1904 = wb.date1904
        self.sst = wb.sst

    def kind(self, attrs: bytes) -> str:
        """The cell kind for a cell's attributes (other than r): one of the _K_*
        codes, or the raw t="..." value for rarer types (b, e, d, str, inlineStr)."""
        k = self.kinds.get(attrs)
        if k is None:
            mt = _ATTR_T.search(attrs)
            ms = _ATTR_S.search(attrs)
            t = mt.group(1).decode("ascii", "replace") if mt else "n"
            if t == "s":
                k = _K_SST
            elif t == "n":
                k = _K_NUMBER
                if ms is not None:
                    si = int(ms.group(1))
                    if si < len(self.date_styles) and self.date_styles[si]:
                        k = _K_DATE
            else:
                k = t
            self.kinds[attrs] = k
        return k

    def parse(self, part: bytes, colmap: dict | None, after: int) -> list:
        """The rows of a chunk of whole <row> elements, as a list of
        (row number, {key: value}); rows with no kept cells are left out."""
        rx = self.rx
        cells = rx.cell.findall(part)
        if len(cells) != len(rx.cell_start.findall(part)):
            return self.parse_et(part, colmap, after)
        if colmap is None:
            colmap = _AllColumns()
        get = colmap.get
        out = []
        emit = out.append
        sst = self.sst
        blob, offs = sst.blob, sst.offs
        kinds = self.kinds
        dates = self.dates
        date1904 = self.date1904
        cur = None
        row = None
        for col, rn, attrs, v, istr, other in cells:
            if rn != cur:
                cur = rn
                row = {}
                emit((rn, row))
            key = get(col)
            if key is None:
                continue
            if istr:
                row[key] = _xml_text(istr) if (b"&" in istr or b"_x" in istr) else istr.decode("utf-8")
                continue
            code = kinds.get(attrs)
            if code is None:
                code = self.kind(attrs)
            if other:
                v = self.from_content(code, other)
                if v is None:
                    continue
                if v.__class__ is str:
                    if v:
                        row[key] = v
                    continue
            elif not v:
                continue
            if code is _K_SST:
                i = int(v)
                try:
                    a, b = offs[i], offs[i + 1]
                except IndexError:
                    text = sst.get(i)
                    if text:
                        row[key] = text
                else:
                    if a != b:
                        row[key] = blob[a:b].decode("utf-8")
            elif code is _K_NUMBER:
                row[key] = int(v) if v.isdigit() else _number(v)
            elif code is _K_DATE:
                d = dates.get(v)
                if d is None:
                    d = _excel_date(float(v), date1904)
                    if len(dates) < 100_000:
                        dates[v] = d
                row[key] = d
            else:
                row[key] = self.typed(code, v)
        if cur is not None:
            self.last_row = int(cur)
        return [(n, r) for rn, r in out if r and (n := int(rn)) > after]

    def from_content(self, code: str, content: bytes):
        """The value out of a cell's inner XML that is not a bare <v>: text (str)
        for inline strings, else the <v> bytes (None if there is none)."""
        rx = self.rx
        if code == "inlineStr":
            m = rx.inline.search(content)
            return rx.rich_text(m.group(1)) if m else None
        m = rx.v.search(content)
        if m is None:
            return None
        v = m.group(1)
        if b"<![CDATA[" in v:
            v = _xml_text(v).encode("utf-8")
        return v

    def typed(self, t: str, v: bytes):
        if t == "str" or t == "e":
            return _xml_text(v)
        if t == "b":
            return v.strip() in (b"1", b"true")
        if t == "d":
            s = v.decode("ascii", "replace").strip()
            try:
                dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                return s
            if dt.tzinfo is None and dt.hour == dt.minute == dt.second == dt.microsecond == 0:
                return dt.date()
            return dt
        if t == "inlineStr":
            return _xml_text(v)
        return _xml_text(v)

    # -- generic path for chunks the scanner cannot fully account for -----------
    def parse_et(self, part: bytes, colmap: dict | None, after: int) -> list:
        out = []
        try:
            root = ET.fromstring(b"<sheetData " + self.nsdecls + b">" + part + b"</sheetData>")
        except ET.ParseError as exc:
            raise BadFile(f"{self.wb.name}: the sheet XML is damaged ({exc}); open the file in Excel and save it again") from None
        rownum = self.last_row
        for r in root:
            if _local(r.tag) != "row":
                continue
            rattr = r.get("r")
            rownum = int(rattr) if rattr and rattr.isdigit() else rownum + 1
            if rownum <= after:
                continue
            row = {}
            colidx = 0
            for c in r:
                if _local(c.tag) != "c":
                    continue
                ref = c.get("r")
                if ref:
                    letters = ref.rstrip("0123456789").upper()
                    colidx = _col_index(letters)
                else:
                    colidx += 1
                    letters = _col_letters(colidx)
                col = letters.encode("ascii")
                key = col if colmap is None else colmap.get(col)
                if key is None:
                    continue
                t = c.get("t") or "n"
                s = c.get("s")
                is_date = False
                if t == "n" and s and s.isdigit():
                    si = int(s)
                    is_date = si < len(self.date_styles) and self.date_styles[si]
                value = None
                if t == "inlineStr":
                    for ch in c:
                        if _local(ch.tag) == "is":
                            value = "".join(
                                (x.text or "") for x in ch.iter()
                                if _local(x.tag) == "t" and not _inside_rph(ch, x)
                            )
                    value = _x_unescape(value) if value is not None else None
                else:
                    vtext = None
                    for ch in c:
                        if _local(ch.tag) == "v":
                            vtext = ch.text or ""
                    if vtext is None or vtext == "":
                        continue
                    if t == "s":
                        try:
                            value = self.sst.get(int(vtext))
                        except ValueError:
                            value = None
                    elif t == "n":
                        try:
                            value = _excel_date(float(vtext), self.date1904) if is_date else _number(vtext.encode())
                        except ValueError:
                            value = vtext
                    elif t in ("b", "d"):
                        value = self.typed(t, vtext.encode("utf-8"))
                    else:
                        value = _x_unescape(vtext)
                if value is None or value == "":
                    continue
                row[key] = value
            if row:
                out.append((rownum, row))
        self.last_row = rownum
        return out


def _inside_rph(root, target) -> bool:
    for el in root.iter():
        if _local(el.tag) == "rPh" and any(x is target for x in el.iter()):
            return True
    return False


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _col_letters(n: int) -> str:
    s = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _number(v: bytes):
    try:
        return int(v)
    except ValueError:
        pass
    try:
        f = float(v)
    except ValueError:
        return v.decode("utf-8", "replace")
    return f


def read_xlsx(path: Path, info: ReadInfo) -> Iterator[tuple[int, dict]]:
    wb = _Workbook(path)
    try:
        chosen = None
        best = None
        for sheet_name, part in wb.sheets:
            where = f"{wb.name}, sheet '{sheet_name}'"
            scan = wb.chunks(part, None, piece=1 << 16)
            try:
                header = find_header((r for rows in scan for r in rows), where)
            finally:
                scan.close()
            if header is None:
                continue
            if not header.missing:
                chosen = (sheet_name, part, header)
                break
            if best is None or len(header.texts) > len(best[2].texts):
                best = (sheet_name, part, header)
        if chosen is None:
            if best is not None:
                raise missing_columns_error(f"{wb.name}, sheet '{best[0]}'", best[2])
            raise no_header_error(wb.name if len(wb.sheets) == 1 else f"{wb.name} (all {len(wb.sheets)} sheets)")
        sheet_name, part, header = chosen
        info.sheet = sheet_name
        info.header_row = header.row
        info.columns = dict(header.texts)
        info.ignored = list(header.ignored)
        chunks = wb.chunks(part, header.mapping, after=header.row)
        try:
            for rows in chunks:
                for item in rows:
                    for v in item[1].values():
                        if v.__class__ is not str or v.strip():
                            yield item
                            break
        finally:
            chunks.close()
    finally:
        wb.sst.close()
        wb.close()
