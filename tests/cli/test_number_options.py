"""Numbers at the edge: every amount and count option refuses exponents, NaN, infinities,
misplaced signs and out-of-range values with exit 5 and one line naming the option,
before anything is written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_cli.domain.errors import InvalidInput

P = "081-234-5678"

#: (argv, the option the error line must name)
REFUSED: list[tuple[tuple[str, ...], str]] = [
    (("points", "give", P, "--spend", "1e309"), "spend"),
    (("points", "give", P, "--spend", "1e2"), "spend"),
    (("points", "give", P, "--spend", "NaN"), "spend"),
    (("points", "give", P, "--spend", "inf"), "spend"),
    (("points", "give", P, "--spend", "-Infinity"), "spend"),
    (("points", "give", P, "--spend", "-5"), "spend"),
    (("points", "give", P, "--spend", "0"), "spend"),
    (("points", "give", P, "--spend", "100000001"), "spend"),
    (("points", "give", P, "--spend", "1.005"), "spend"),
    (("points", "give", P, "--spend", "0x10"), "spend"),
    (("points", "qr", "--branch", "Siam", "--spend", "1e309"), "spend"),
    (("points", "qr", "--branch", "Siam", "--spend", "100", "--valid-minutes", "1441"), "--valid-minutes"),
    (("points", "qr", "--branch", "Siam", "--spend", "100", "--valid-minutes", "0"), "--valid-minutes"),
    (("points", "rule", "--points", "1e3"), "--points"),
    (("points", "rule", "--points", "0"), "--points"),
    (("points", "rule", "--points", "nan"), "--points"),
    (("points", "rule", "--per", "0"), "--per"),
    (("points", "rule", "--per", "1e309"), "--per"),
    (("points", "rule", "--per", "Infinity"), "--per"),
    (("points", "rule", "--welcome", "-1"), "--welcome"),
    (("points", "rule", "--welcome", "5e1"), "--welcome"),
    (("points", "expiry", "rolling", "1e1"), "MONTHS"),
    (("points", "expiry", "rolling", "25"), "months"),
    (("points", "balance", P, "--lots", "-1"), "--lots"),
    (("points", "history", P, "--limit", "0"), "--limit"),
    (("points", "adjust", P, "--points", "1e3", "--reason", "x"), "--points"),
    (("points", "adjust", P, "--points", "2000000000", "--reason", "x"), "--points"),
    (("points", "adjust", P, "--points", "99999999999999999999", "--reason", "x"), "--points"),
    (("member", "list", "--limit", "0"), "--limit"),
    (("member", "list", "--min-points", "-1"), "--min-points"),
    (("member", "list", "--birthday-month", "13"), "--birthday-month"),
    (("member", "import", "members.csv", "--branch", "Siam", "--max-rows", "1e4"), "--max-rows"),
    (("reward", "create", "R", "--kind", "in-store", "--cost", "1e3"), "--cost"),
    (("reward", "create", "R", "--kind", "in-store", "--cost", "0"), "--cost"),
    (("reward", "create", "R", "--kind", "in-store", "--cost", "10", "--stock", "-1"), "--stock"),
    (("reward", "create", "R", "--kind", "in-store", "--cost", "10", "--per-member", "0"), "--per-member"),
    (("reward", "edit", "R", "--cost", "-1"), "--cost"),
    (("reward", "edit", "R", "--stock", "-1"), "--stock"),
    (("reward", "edit", "R", "--stock", "inf"), "--stock"),
    (("reward", "edit", "R", "--per-member", "0"), "--per-member"),
    (("tier", "cycle", "0"), "1 to 24"),
    (("tier", "cycle", "1e1"), "MONTHS"),
    (("tier", "set", "Gold", "--threshold", "-1"), "--threshold"),
    (("tier", "set", "Gold", "--threshold", "1e3"), "--threshold"),
    (("store", "edit", "--import-max-rows", "0"), "--import-max-rows"),
    (("store", "edit", "--answer-retention-days", "1e3"), "--answer-retention-days"),
    (("store", "edit", "--point-value", "1e309"), "point value"),
    (("store", "edit", "--point-value", "0.00001"), "point value"),
    (("form", "question", "add", "Q?", "--kind", "text", "--retention-days", "0"), "--retention-days"),
    (("staff", "invite", "--branch", "Siam", "--valid-days", "91"), "--valid-days"),
    (("report", "liability", "--point-value", "inf"), "point value"),
    (("report", "liability", "--point-value", "0.05", "--breakage", "1e-1"), "--breakage"),
    (("report", "liability", "--point-value", "0.05", "--breakage", "nan"), "--breakage"),
    (("report", "expiring", "--days", "-1"), "--days"),
    (("report", "expiring", "--days", "1e3"), "--days"),
    (("orders", "list", "--limit", "0"), "--limit"),
    (("maintenance", "history", "--limit", "1e3"), "--limit"),
    (("audit", "list", "--limit", "0"), "--limit"),
    (("delivery", "update", "1e3", "--status", "shipped"), "ID"),
]


def _audit_count(cli) -> int:
    return len(cli.json("audit", "list", "--limit", "1000"))


def test_every_amount_and_count_option_refuses_bad_numbers(shop):
    before = _audit_count(shop)
    for argv, option in REFUSED:
        err = shop.fails(InvalidInput.exit_code, *argv)
        assert err.count("\n") == 0 and err.startswith("error: ") and option in err, (argv, err)
    assert _audit_count(shop) == before  # nothing was written


def test_plain_numbers_still_work(shop):
    shop.ok("points", "rule", "--points", "1", "--per", "25", "--welcome", "0")
    assert shop.json("points", "give", P, "--spend", "1,250.50")["points"] == 50
    shop.ok("reward", "create", "Latte", "--kind", "in-store", "--cost", "1,000", "--stock", "0")
    shop.ok("reward", "edit", "Latte", "--stock", "unlimited", "--per-member", "2")
    shop.ok("points", "adjust", P, "--points", "-5", "--reason", "typo")
    assert shop.json("points", "balance", P)["balance"] == 45


def test_every_int_and_decimal_option_has_a_checked_parser():
    """A new numeric option must use options.whole/amount, or this fails."""
    import typer.main

    from crm_cli.cli.app import GROUPS, app

    root = typer.main.get_command(app)
    missing = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs is not None:
            for name, sub in subs.items():
                walk(sub, f"{path} {name}")
            return
        for p in cmd.params:
            td = getattr(p, "type_descriptor", None)
            if td is None or td.annotation not in (int, Decimal, float):
                continue
            parser = td.parameter_info.parser
            qual = getattr(parser, "__qualname__", "")
            if qual.split(".")[0] not in ("whole", "amount", "rate"):
                missing.append(f"{path} {p.name}")

    for name in GROUPS:
        walk(root.get_command(None, name), f"crm {name}")
    walk(root.get_command(None, "demo"), "crm demo")
    assert not missing, f"numeric options without a checked parser: {missing}"


@pytest.mark.parametrize("raw", ["1e3", "nan", "inf", "-1", "1.5", "", " ", "1,00"])
def test_whole_parser_refuses(raw):
    from crm_cli.cli.options import whole

    with pytest.raises(InvalidInput):
        whole("--n")(raw)


@pytest.mark.parametrize("raw", ["1e309", "NaN", "sNaN", "Infinity", "-1", "0", "0.001", "1_000", "٣"])
def test_amount_parser_refuses(raw):
    from crm_cli.cli.options import amount, fine_amount

    with pytest.raises(InvalidInput):
        amount("--spend")(raw)
    if raw != "0.001":  # a finer amount than satang is the point of fine_amount
        with pytest.raises(InvalidInput):
            amount("--point-value", check=fine_amount(4, Decimal(100000)))(raw)


def test_fine_amount_takes_four_places():
    from crm_cli.cli.options import amount, fine_amount

    parse = amount("--point-value", check=fine_amount(4, Decimal(100000)))
    assert parse("0.0125") == Decimal("0.0125")
    for raw in ("0.00001", "100001", "0"):
        with pytest.raises(InvalidInput):
            parse(raw)
