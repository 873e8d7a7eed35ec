"""Code pool files: text (one per line, comments) or CSV (first column, optional header)."""

from __future__ import annotations

import pytest

from crm_cli.domain.errors import InvalidInput
from crm_cli.fileio.codes import read_codes


def test_text_and_csv_files(tmp_path):
    txt = tmp_path / "codes.txt"
    txt.write_text("# pool for November\nAAA-111\n\n  BBB-222  \n", encoding="utf-8")
    assert read_codes(txt) == ["AAA-111", "BBB-222"]
    csv_path = tmp_path / "codes.csv"
    csv_path.write_bytes("\ufeffcode,batch\nCCC-333,1\n,\nDDD-444,2\n".encode("utf-8"))
    assert read_codes(csv_path) == ["CCC-333", "DDD-444"]


def test_bad_files_are_one_clear_error(tmp_path):
    spaced = tmp_path / "spaced.txt"
    spaced.write_text("AAA 111\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="without spaces"):
        read_codes(spaced)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9\n")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_codes(latin)
    with pytest.raises(InvalidInput, match="cannot read"):
        read_codes(tmp_path / "missing.txt")
