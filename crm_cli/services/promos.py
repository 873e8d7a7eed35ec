"""Unique promo codes: a pool of codes (loaded from a file or generated), one code per
person (a member, or a follower without a member), issued once and recorded; redeemed at
the counter once."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlmodel import col

from crm_cli.db import dialect
from crm_cli.db.models import LineFollower, Member, PromoCode, PromoPool
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.services import named

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a counter
MAX_GENERATE = 1_000_000


@dataclass(frozen=True)
class PoolRow:
    name: str
    codes: int
    issued: int
    redeemed: int
    free: int
    created_at: datetime


def _name(raw: str) -> str:
    n = " ".join((raw or "").split())
    if not n or len(n) > 80:
        raise InvalidInput("a promo pool name must be 1 to 80 characters")
    return n


def get_pool(session, store_id: int, name: str) -> PromoPool:
    return named.get(session, PromoPool, store_id, _name(name), missing=f"promo pool '{name}' not found: see `crm promo list`")


def check_code(raw: str, *, line: int | None = None) -> str:
    c = (raw or "").strip()
    if not CODE_RE.match(c):
        where = f"line {line}: " if line else ""
        raise InvalidInput(f"{where}'{raw.strip()[:40]}' is not a promo code (3 to 64 letters, digits, '-' or '_')")
    return c


def parse_codes(text: str) -> list[str]:
    """One code a line (a first CSV column is enough; a 'code' header and blank lines are skipped).
    Every bad line is reported at once; duplicates in the file are refused."""
    codes: list[str] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for i, line in enumerate(text.splitlines(), 1):
        cell = line.split(",")[0].strip().strip('"')
        if not cell or (i == 1 and cell.lower() == "code"):
            continue
        try:
            c = check_code(cell, line=i)
        except InvalidInput as exc:
            errors.append(exc.message)
            continue
        if c.upper() in seen:
            errors.append(f"line {i}: {c} repeats line {seen[c.upper()]}")
            continue
        seen[c.upper()] = i
        codes.append(c)
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidInput("; ".join(errors[:5]) + more + "; nothing was loaded")
    if not codes:
        raise InvalidInput("the codes file holds no codes")
    return codes


def generate(n: int, prefix: str) -> list[str]:
    if not 1 <= n <= MAX_GENERATE:
        raise InvalidInput(f"--generate takes 1 to {MAX_GENERATE:,} codes")
    p = (prefix or "").strip().upper()
    if p and not re.match(r"^[A-Z0-9][A-Z0-9_-]{0,30}$", p):
        raise InvalidInput("--prefix may hold letters, digits, '-' and '_' (at most 31)")
    out: set[str] = set()
    while len(out) < n:
        out.add(p + "".join(secrets.choice(ALPHABET) for _ in range(8)))
    return sorted(out)


def _pool_row(session, p: PromoPool) -> PoolRow:
    total, issued, redeemed = session.execute(
        select(func.count(), func.count(col(PromoCode.issued_at)), func.count(col(PromoCode.redeemed_at))).where(col(PromoCode.pool_id) == p.id)).one()
    return PoolRow(name=p.name, codes=int(total), issued=int(issued), redeemed=int(redeemed),
                   free=int(total) - int(issued), created_at=p.created_at)


def load(session, *, store_id: int, name: str, codes: list[str], now: datetime) -> PoolRow:
    """Add codes to the pool (created if new). A code already in any pool of the store is refused."""
    n = _name(name)
    pool = named.find(session, PromoPool, store_id, n)
    if pool is None:
        pool = PromoPool(store_id=store_id, name=n, created_at=now)
        session.add(pool)
        session.flush()
    for i in range(0, len(codes), 1000):
        chunk = codes[i:i + 1000]
        dup = session.execute(select(col(PromoCode.code)).where(col(PromoCode.store_id) == store_id, col(PromoCode.code).in_(chunk)).limit(3)).scalars().all()
        if dup:
            raise Conflict(f"code(s) already loaded in this store: {', '.join(dup)}; nothing was loaded")
        session.execute(insert(PromoCode), [dict(store_id=store_id, pool_id=pool.id, code=c) for c in chunk])
    session.flush()
    return _pool_row(session, pool)


def list_pools(session, *, store_id: int) -> list[PoolRow]:
    pools = session.execute(select(PromoPool).where(col(PromoPool.store_id) == store_id).order_by(col(PromoPool.name))).scalars().all()
    return [_pool_row(session, p) for p in pools]


def issue_for(session, *, pool_id: int, people, now: datetime) -> dict[str, str]:
    """user_id -> code for each person (objects with user_id, member_id, follower_id): the
    code they already hold from this pool, else a free one, recorded now. Refused (nothing
    issued) when the pool has too few free codes. The pool's row is locked first (PostgreSQL),
    so two issuers never pick codes for the same people at once."""
    dialect.lock_row(session, "promo_pool", pool_id)
    member_ids = [p.member_id for p in people if p.member_id]
    follower_ids = [p.follower_id for p in people if not p.member_id and p.follower_id]
    have_m: dict[int, str] = {}
    have_f: dict[int, str] = {}
    for i in range(0, len(member_ids), 5000):
        have_m.update(session.execute(select(col(PromoCode.member_id), col(PromoCode.code)).where(
            col(PromoCode.pool_id) == pool_id, col(PromoCode.member_id).in_(member_ids[i:i + 5000]))).all())
    for i in range(0, len(follower_ids), 5000):
        have_f.update(session.execute(select(col(PromoCode.follower_id), col(PromoCode.code)).where(
            col(PromoCode.pool_id) == pool_id, col(PromoCode.follower_id).in_(follower_ids[i:i + 5000]))).all())
    need = [p for p in people if (p.member_id and p.member_id not in have_m) or
            (not p.member_id and p.follower_id and p.follower_id not in have_f)]
    free_q = (select(col(PromoCode.id), col(PromoCode.code)).where(col(PromoCode.pool_id) == pool_id, col(PromoCode.issued_at).is_(None))
              .order_by(col(PromoCode.id)).limit(len(need)))
    free_q = dialect.skip_locked(free_q, session)
    free = session.execute(free_q).all() if need else []
    if len(free) < len(need):
        pool = session.get(PromoPool, pool_id)
        raise Conflict(f"promo pool '{pool.name}' has {len(free):,} free codes for {len(need):,} people: "
                       f"load more with `crm promo load {pool.name} ...`")
    updates = []
    for p, (code_id, code) in zip(need, free):
        if p.member_id:
            have_m[p.member_id] = code
            updates.append({"b_id": code_id, "b_member": p.member_id, "b_follower": None, "b_at": now})
        else:
            have_f[p.follower_id] = code
            updates.append({"b_id": code_id, "b_member": None, "b_follower": p.follower_id, "b_at": now})
    if updates:
        from sqlalchemy import bindparam

        stmt = (update(PromoCode.__table__).where(PromoCode.__table__.c.id == bindparam("b_id"))
                .values(member_id=bindparam("b_member"), follower_id=bindparam("b_follower"), issued_at=bindparam("b_at")))
        session.execute(stmt, updates)
    out = {}
    for p in people:
        code = have_m.get(p.member_id) if p.member_id else have_f.get(p.follower_id)
        if code:
            out[p.user_id] = code
    return out


@dataclass(frozen=True)
class Issued:
    pool: str
    segment: str
    people: int
    newly_issued: int
    already_held: int
    free_left: int


@dataclass(frozen=True)
class _Person:
    user_id: str
    member_id: int | None
    follower_id: int | None


def issue(session, *, store_id: int, name: str, segment: str, now: datetime) -> Issued:
    """One code to everybody in the segment who has none from this pool yet."""
    from crm_cli.services import segments

    pool = get_pool(session, store_id, name)
    # one issuer of a pool at a time: a second `promo issue` (another cron host, another
    # operator) waits here, then sees the codes the first one issued and gives only the rest
    dialect.lock_row(session, "promo_pool", pool.id)
    seg = segments.get(session, store_id, segment)
    sub = segments.audience_select(session, store_id=store_id, spec=segments.spec_of(seg), now=now).subquery("aud")
    people = [_Person(r.user_id or (f"m{r.member_id}" if r.member_id else f"f{r.follower_id}"), r.member_id, r.follower_id)
              for r in session.execute(select(sub.c.user_id, sub.c.member_id, sub.c.follower_id)
                                       .order_by(sub.c.member_id, sub.c.follower_id))]
    before = _pool_row(session, pool).issued
    issue_for(session, pool_id=pool.id, people=people, now=now)
    row = _pool_row(session, pool)
    new = row.issued - before
    return Issued(pool=pool.name, segment=seg.name, people=len(people), newly_issued=new,
                  already_held=len(people) - new, free_left=row.free)


@dataclass(frozen=True)
class CodeRow:
    code: str
    status: str  # free | issued | redeemed
    phone: str | None
    user_id: str | None
    display_name: str | None
    issued_at: datetime | None
    redeemed_at: datetime | None


def codes(session, *, store_id: int, name: str):
    pool = get_pool(session, store_id, name)
    q = (select(col(PromoCode.code), col(PromoCode.issued_at), col(PromoCode.redeemed_at), col(Member.phone),
                col(LineFollower.user_id), col(LineFollower.display_name))
         .select_from(PromoCode)
         .outerjoin(Member, col(Member.id) == col(PromoCode.member_id))
         .outerjoin(LineFollower, (col(LineFollower.id) == col(PromoCode.follower_id)) |
                    ((col(PromoCode.follower_id).is_(None)) & (col(LineFollower.member_id) == col(PromoCode.member_id))
                     & (col(PromoCode.member_id).is_not(None))))
         .where(col(PromoCode.pool_id) == pool.id).order_by(col(PromoCode.id)))
    for r in session.execute(q):
        status = "redeemed" if r.redeemed_at else "issued" if r.issued_at else "free"
        yield CodeRow(code=r.code, status=status, phone=r.phone, user_id=r.user_id, display_name=r.display_name,
                      issued_at=r.issued_at, redeemed_at=r.redeemed_at)


@dataclass(frozen=True)
class ExportResult:
    file: str
    rows: int


def export(session, *, store_id: int, name: str, path) -> ExportResult:
    from crm_cli.fileio.spreadsheet import write_table

    cols = ["code", "status", "phone", "user_id", "display_name", "issued_at", "redeemed_at"]
    data = ([r.code, r.status, r.phone, r.user_id, r.display_name, r.issued_at, r.redeemed_at]
            for r in codes(session, store_id=store_id, name=name))
    try:
        n = write_table(path, cols, data, {"issued_at": "datetime", "redeemed_at": "datetime"}, sheet="codes")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return ExportResult(file=str(path), rows=n)


@dataclass(frozen=True)
class Redeemed:
    code: str
    pool: str
    phone: str | None
    display_name: str | None
    issued_at: datetime | None
    redeemed_at: datetime


def redeem(session, *, store_id: int, code: str, now: datetime) -> Redeemed:
    c = check_code(code)
    q = select(PromoCode).where(col(PromoCode.store_id) == store_id, func.upper(col(PromoCode.code)) == c.upper())
    q = dialect.for_update(q, session)
    row = session.execute(q).scalars().first()
    if row is None:
        raise NotFound(f"promo code {c} not found in this store")
    if row.issued_at is None:
        raise Conflict(f"promo code {row.code} was never issued to anyone")
    if row.redeemed_at is not None:
        raise Conflict(f"promo code {row.code} was already used on {row.redeemed_at:%Y-%m-%d %H:%M} UTC")
    res = session.execute(update(PromoCode).where(PromoCode.id == row.id, col(PromoCode.redeemed_at).is_(None))
                          .values(redeemed_at=now))
    if res.rowcount != 1:
        raise Conflict(f"promo code {row.code} was already used")
    m = session.get(Member, row.member_id) if row.member_id else None
    f = session.get(LineFollower, row.follower_id) if row.follower_id else None
    pool = session.get(PromoPool, row.pool_id)
    return Redeemed(code=row.code, pool=pool.name, phone=m.phone if m else None,
                    display_name=(f.display_name if f else (m.name if m else None)), issued_at=row.issued_at, redeemed_at=now)
