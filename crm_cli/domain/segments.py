"""Audience segments as data: a filter spec, its validation, and its JSON form.

A segment is a saved query over the store's audience: its members (registered or
phone-only, with the LINE follower linked to them, if any) and the LINE followers not
linked to a member. The spec is stored as JSON and evaluated when it is used
(services/segments.py turns it into one SQL query).

Filters combine with AND:

- ``tier``: the member's tier;
- ``tags`` (all of), ``any_tags`` (at least one), ``not_tags`` (none of): a person's tags are
  the member's tags and the linked follower's chat and active tags together;
- ``min_points`` / ``max_points``: points left in unexpired lots;
- ``birthday_month`` 1-12;
- ``inactive_days`` N: no ledger entry (no activity) for N days;
- ``branch``: the branch of the member's last visit (latest ledger entry with a branch);
- ``joined_since``: registered (or created) on or after that day; for a follower, followed;
- ``audience``: ``all`` (members and followers), ``registered`` (registered members only),
  ``followers`` (LINE followers who are not members).

A follower without a member has no tier, points, birthday or visits: a spec using any of
those filters selects members only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, Callable

from crm_cli.domain.errors import InvalidInput

AUDIENCES = ("all", "registered", "followers")
MEMBER_ONLY = ("tier", "min_points", "max_points", "birthday_month", "inactive_days", "branch")


@dataclass(frozen=True)
class SegmentSpec:
    tier: str | None = None
    tags: tuple[str, ...] = ()
    any_tags: tuple[str, ...] = ()
    not_tags: tuple[str, ...] = ()
    min_points: int | None = None
    max_points: int | None = None
    birthday_month: int | None = None
    inactive_days: int | None = None
    branch: str | None = None
    joined_since: date | None = None
    audience: str = "all"

    # -------------------------------------------------------------- queries
    @property
    def member_only(self) -> bool:
        """True when a filter needs member data (followers without a member cannot match)."""
        return any(getattr(self, f) is not None for f in MEMBER_ONLY) or self.audience == "registered"

    @property
    def includes_members(self) -> bool:
        return self.audience != "followers"

    @property
    def includes_followers(self) -> bool:
        return self.audience != "registered" and not self.member_only

    def describe(self) -> str:
        """One line, the way the options were written."""
        parts = []
        if self.tier:
            parts.append(f"--tier {self.tier}")
        parts += [f"--tag {t}" for t in self.tags]
        parts += [f"--any-tag {t}" for t in self.any_tags]
        parts += [f"--not-tag {t}" for t in self.not_tags]
        if self.min_points is not None:
            parts.append(f"--min-points {self.min_points}")
        if self.max_points is not None:
            parts.append(f"--max-points {self.max_points}")
        if self.birthday_month is not None:
            parts.append(f"--birthday-month {self.birthday_month}")
        if self.inactive_days is not None:
            parts.append(f"--inactive-days {self.inactive_days}")
        if self.branch:
            parts.append(f"--branch {self.branch}")
        if self.joined_since:
            parts.append(f"--joined-since {self.joined_since.isoformat()}")
        if self.audience == "registered":
            parts.append("--registered")
        elif self.audience == "followers":
            parts.append("--followers-only")
        return " ".join(parts) or "everyone"

    # -------------------------------------------------------------- JSON
    def to_json(self) -> str:
        d = asdict(self)
        d = {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}
        if self.joined_since:
            d["joined_since"] = self.joined_since.isoformat()
        d = {k: v for k, v in d.items() if v not in (None, [], ())}
        return json.dumps(d, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> "SegmentSpec":
        try:
            d = json.loads(raw or "{}")
        except ValueError:
            raise InvalidInput("the segment's stored filter is not valid JSON") from None
        if not isinstance(d, dict):
            raise InvalidInput("the segment's stored filter is not a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise InvalidInput(f"unknown segment filter(s): {', '.join(sorted(unknown))}")
        for k in ("tags", "any_tags", "not_tags"):
            if k in d:
                d[k] = tuple(d[k])
        if d.get("joined_since"):
            d["joined_since"] = date.fromisoformat(d["joined_since"])
        return validate(cls(**d))


def _int(name: str, value: Any, lo: int, hi: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be a whole number")
    if value < lo or (hi is not None and value > hi):
        raise InvalidInput(f"{name} must be {lo} to {hi}" if hi is not None else f"{name} must be {lo} or more")
    return value


def validate(spec: SegmentSpec, *, normalize_tag: Callable[[str], str] | None = None) -> SegmentSpec:
    """The spec checked and tidied (tags normalized and de-duplicated); InvalidInput otherwise."""
    norm = normalize_tag or (lambda t: t.strip().lower())

    def tags(name: str, values: Any) -> tuple[str, ...]:
        out: list[str] = []
        for v in values or ():
            if not isinstance(v, str) or not v.strip():
                raise InvalidInput(f"{name} needs a tag name")
            t = norm(v)
            if t not in out:
                out.append(t)
        return tuple(out)

    all_of, any_of, none_of = tags("--tag", spec.tags), tags("--any-tag", spec.any_tags), tags("--not-tag", spec.not_tags)
    clash = (set(all_of) | set(any_of)) & set(none_of)
    if clash:
        raise InvalidInput(f"tag {sorted(clash)[0]} is both wanted and excluded: nobody could match")
    lo = _int("--min-points", spec.min_points, 0)
    hi = _int("--max-points", spec.max_points, 0)
    if lo is not None and hi is not None and lo > hi:
        raise InvalidInput(f"--min-points {lo} is more than --max-points {hi}")
    month = _int("--birthday-month", spec.birthday_month, 1, 12)
    days = _int("--inactive-days", spec.inactive_days, 1, 36500)
    if spec.audience not in AUDIENCES:
        raise InvalidInput(f"audience must be one of: {', '.join(AUDIENCES)}")
    tier = (spec.tier or "").strip() or None
    branch = (spec.branch or "").strip() or None
    if spec.audience == "followers" and (tier or lo is not None or hi is not None or month or days or branch):
        raise InvalidInput("--followers-only selects followers without a member: they have no tier, points, "
                           "birthday or visits to filter on")
    return replace(spec, tier=tier, branch=branch, tags=all_of, any_tags=any_of, not_tags=none_of,
                   min_points=lo, max_points=hi, birthday_month=month, inactive_days=days)


@dataclass(frozen=True)
class SegmentChange:
    """Options of `segment edit`: ``None`` keeps a filter, ``clear`` names filters to drop."""

    values: dict[str, Any] = field(default_factory=dict)
    clear: tuple[str, ...] = ()


def apply_change(spec: SegmentSpec, change: SegmentChange) -> SegmentSpec:
    fields = set(SegmentSpec.__dataclass_fields__)
    d: dict[str, Any] = {}
    for name in change.clear:
        if name not in fields:
            raise InvalidInput(f"--clear takes one of: {', '.join(sorted(fields))}")
        d[name] = SegmentSpec.__dataclass_fields__[name].default
    for k, v in change.values.items():
        if v is None or v == ():
            continue
        d[k] = v
    return replace(spec, **d)
