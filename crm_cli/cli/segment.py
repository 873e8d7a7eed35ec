"""`crm segment`: saved audience filters (tier, tags, points, birthday, inactivity, branch,
joining date, registration), evaluated when used."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli import complete
from crm_cli.cli.options import out_option, whole
from crm_cli.cli.run import apply, export, listing, show, write

app = typer.Typer(help="Audience segments: saved filters over members and LINE followers.",
                  no_args_is_help=True, rich_markup_mode=None)

NameArg = Annotated[str, typer.Argument(help="Segment name.")]
SegmentArg = Annotated[str, typer.Argument(autocompletion=complete.segments, help="Segment name.")]
TierOpt = Annotated[Optional[str], typer.Option("--tier", autocompletion=complete.tiers, help="Members of this tier.")]
TagOpt = Annotated[Optional[list[str]], typer.Option("--tag", autocompletion=complete.tags, help="Has this tag (repeat: all of them). Chat and active tags both count.")]
AnyTagOpt = Annotated[Optional[list[str]], typer.Option("--any-tag", autocompletion=complete.tags, help="Has at least one of these tags (repeat).")]
NotTagOpt = Annotated[Optional[list[str]], typer.Option("--not-tag", autocompletion=complete.tags, help="Has none of these tags (repeat).")]
MinOpt = Annotated[Optional[int], typer.Option("--min-points", parser=whole("--min-points"), metavar="N", help="At least N points.")]
MaxOpt = Annotated[Optional[int], typer.Option("--max-points", parser=whole("--max-points"), metavar="N", help="At most N points.")]
MonthOpt = Annotated[Optional[int], typer.Option("--birthday-month", parser=whole("--birthday-month", 1, 12), metavar="M", help="Birthday in month M (1-12).")]
InactiveOpt = Annotated[Optional[int], typer.Option("--inactive-days", parser=whole("--inactive-days", 1, 36500), metavar="N", help="No ledger entry for N days.")]
BranchOpt = Annotated[Optional[str], typer.Option("--branch", autocompletion=complete.branches, help="Last visit at this branch.")]
JoinedOpt = Annotated[Optional[str], typer.Option("--joined-since", metavar="YYYY-MM-DD", help="Registered (or followed) on or after this day.")]
RegisteredOpt = Annotated[bool, typer.Option("--registered", help="Registered members only.")]
FollowersOpt = Annotated[bool, typer.Option("--followers-only", help="LINE followers who are not members.")]

LIST_COLUMNS = ["name", "filters", "created_at", "updated_at"]
COUNT_COLUMNS = ["segment", "filters", "people", "members", "followers_only", "reachable"]
MEMBER_COLUMNS = ["phone", "name", "user_id", "display_name", "line_status", "tier", "points"]


def _spec(tier, tag, any_tag, not_tag, min_points, max_points, birthday_month, inactive_days, branch, joined_since,
          registered, followers_only, *, base=None):
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.domain.segments import SegmentSpec
    from crm_cli.domain.timeutil import parse_day

    if registered and followers_only:
        raise InvalidInput("--registered and --followers-only exclude each other")
    audience = "registered" if registered else "followers" if followers_only else None
    values = dict(tier=tier, tags=tuple(tag or ()), any_tags=tuple(any_tag or ()), not_tags=tuple(not_tag or ()),
                  min_points=min_points, max_points=max_points, birthday_month=birthday_month,
                  inactive_days=inactive_days, branch=branch,
                  joined_since=parse_day(joined_since) if joined_since else None, audience=audience)
    if base is None:
        return SegmentSpec(**{k: v for k, v in values.items() if v is not None})
    return values


@app.command("create")
def segment_create(ctx: typer.Context, name: NameArg, tier: TierOpt = None, tag: TagOpt = None, any_tag: AnyTagOpt = None,
                   not_tag: NotTagOpt = None, min_points: MinOpt = None, max_points: MaxOpt = None,
                   birthday_month: MonthOpt = None, inactive_days: InactiveOpt = None, branch: BranchOpt = None,
                   joined_since: JoinedOpt = None, registered: RegisteredOpt = False, followers_only: FollowersOpt = False) -> None:
    """Save a segment; prints how many people it selects now.

    Example: crm segment create coffee-gold --tier Gold --tag coffee-lover --inactive-days 30
    """
    from crm_cli.services import segments as svc

    spec = _spec(tier, tag, any_tag, not_tag, min_points, max_points, birthday_month, inactive_days, branch,
                 joined_since, registered, followers_only)
    apply(ctx, svc.create, name=name, spec=spec,
          audit=lambda res: f"created segment '{res.segment}' ({res.filters}): {res.people} people", columns=COUNT_COLUMNS)


@app.command("edit")
def segment_edit(ctx: typer.Context, name: SegmentArg, tier: TierOpt = None, tag: TagOpt = None, any_tag: AnyTagOpt = None,
                 not_tag: NotTagOpt = None, min_points: MinOpt = None, max_points: MaxOpt = None,
                 birthday_month: MonthOpt = None, inactive_days: InactiveOpt = None, branch: BranchOpt = None,
                 joined_since: JoinedOpt = None, registered: RegisteredOpt = False, followers_only: FollowersOpt = False,
                 everyone: Annotated[bool, typer.Option("--everyone", help="Members and followers both (drops --registered/--followers-only).")] = False,
                 clear: Annotated[Optional[list[str]], typer.Option("--clear", help="Drop a filter: tier, tags, any_tags, not_tags, min_points, max_points, birthday_month, inactive_days, branch, joined_since (repeat).")] = None,
                 rename: Annotated[Optional[str], typer.Option("--rename", help="New name.")] = None) -> None:
    """Change a segment's filters: the options given replace those filters, --clear drops some.

    Example: crm segment edit coffee-gold --min-points 500 --clear inactive_days
    """
    from crm_cli.domain.segments import SegmentChange
    from crm_cli.services import segments as svc

    values = _spec(tier, tag, any_tag, not_tag, min_points, max_points, birthday_month, inactive_days, branch,
                   joined_since, registered, followers_only, base=True)
    if everyone:
        values["audience"] = "all"
    change = SegmentChange(values=values, clear=tuple(c.strip().replace("-", "_") for c in (clear or ())))
    apply(ctx, svc.edit, name=name, change=change, rename=rename,
          audit=lambda res: f"edited segment '{res.segment}' ({res.filters})", columns=COUNT_COLUMNS)


listing(app, "segments:list_segments", columns=LIST_COLUMNS,
        help="Saved segments and their filters.\n\nExample: crm segment list")


@app.command("show")
def segment_show(ctx: typer.Context, name: SegmentArg) -> None:
    """A segment: its filters and how many people it selects now.

    Example: crm segment show coffee-gold
    """
    from crm_cli.services import segments as svc

    show(ctx, svc.show, name=name, with_now=True)


@app.command("count")
def segment_count(ctx: typer.Context, name: SegmentArg) -> None:
    """How many people the segment selects now: members, followers without a member, and
    how many a campaign can reach (following on LINE).

    Example: crm segment count coffee-gold
    """
    from crm_cli.services import segments as svc

    show(ctx, svc.count, name=name, with_now=True, columns=COUNT_COLUMNS)


@app.command("members")
def segment_members(ctx: typer.Context, name: SegmentArg,
                    limit: Annotated[Optional[int], typer.Option("--limit", parser=whole("--limit", 1), metavar="N", help="At most N rows.")] = None) -> None:
    """The people in the segment now: members first, then followers without a member.

    Example: crm segment members coffee-gold --limit 20
    """
    from crm_cli.services import segments as svc

    show(ctx, svc.members, name=name, limit=limit, with_now=True, columns=MEMBER_COLUMNS)


@app.command("export")
def segment_export(ctx: typer.Context, name: SegmentArg,
                   out: Annotated[Path, out_option(".csv", ".xlsx", help="Write the segment's people to FILE.")]) -> None:
    """Write the people in the segment to CSV or XLSX.

    Example: crm segment export coffee-gold --out coffee-gold.csv
    """
    from crm_cli.services import segments as svc

    export(ctx, svc.export_segment, name=name, path=out, with_now=True, rows="row(s)")


@app.command("remove")
def segment_remove(ctx: typer.Context, name: SegmentArg) -> None:
    """Remove a segment (refused while a campaign to be sent or a rich menu uses it).

    Example: crm segment remove coffee-gold
    """
    from crm_cli.services import segments as svc

    st, removed = write(ctx, svc.remove, name=name, with_now=False, audit=lambda removed: f"removed segment '{removed}'")
    st.render({"removed": removed})


@app.command("tags")
def segment_tags(ctx: typer.Context,
                 kind: Annotated[Optional[str], typer.Option("--kind", help="chat (set by operators) or active (set by actions).")] = None) -> None:
    """Every tag in use, chat tags (operators) and active tags (rich-menu taps, survey and
    registration answers) listed separately, with how many members and followers carry each.

    Example: crm segment tags --kind active
    """
    from crm_cli.services import segments as svc

    show(ctx, svc.tag_counts, kind=kind, columns=["kind", "tag", "members", "followers"])
