"""crm reward: create, list, show, edit, hide, unhide, codes, redeem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli import complete
from crm_cli.cli.context import state
from crm_cli.cli.options import BranchOpt, StaffOpt, whole
from crm_cli.cli.run import apply, current_store_id, show
from crm_cli.domain.redact import mask_phone

app = typer.Typer(help="Rewards: in-store coupons, deliveries, code pools; redeem.", no_args_is_help=True)

LIST_COLUMNS = ["id", "name", "kind", "cost", "stock_left", "redeemed", "display", "status", "per_member", "valid_from",
                "valid_to", "min_tier", "position", "discount"]
PositionOpt = Annotated[Optional[int], typer.Option("--position", parser=whole("--position"), metavar="N", help="Display order in lists: 1 first; rewards without one follow, by cost (0 clears it).")]
DiscountOpt = Annotated[Optional[str], typer.Option("--discount", help="Value shown on the coupon: an amount in THB (50) or a percentage (10%); 'none' clears it.")]
NameArg = Annotated[str, typer.Argument(autocompletion=complete.rewards, help="Reward name, or its id from `crm reward list` (R3).")]


@app.command("create")
def reward_create(
    ctx: typer.Context,
    name: NameArg,
    kind: Annotated[str, typer.Option("--kind", help="in-store (coupon used at the counter), delivery (shipped), or code (from a pool).")],
    cost: Annotated[int, typer.Option("--cost", parser=whole("--cost", 1), metavar="POINTS", help="Points it costs.")],
    stock: Annotated[Optional[int], typer.Option("--stock", parser=whole("--stock"), metavar="N", help="Units available (default unlimited; code rewards: the pool).")] = None,
    per_member: Annotated[Optional[int], typer.Option("--per-member", parser=whole("--per-member", 1), metavar="N", help="At most this many per member.")] = None,
    valid_from: Annotated[Optional[str], typer.Option("--from", help="First day it can be redeemed (YYYY-MM-DD, Bangkok).")] = None,
    valid_to: Annotated[Optional[str], typer.Option("--to", help="Last day it can be redeemed (YYYY-MM-DD, Bangkok).")] = None,
    min_tier: Annotated[Optional[str], typer.Option("--min-tier", autocompletion=complete.tiers, help="Lowest tier allowed to redeem it.")] = None,
    hidden: Annotated[bool, typer.Option("--hidden", help="Create it hidden from members.")] = False,
    description: Annotated[Optional[str], typer.Option("--description", help="Description shown to members.")] = None,
    position: PositionOpt = None,
    discount: DiscountOpt = None,
) -> None:
    """Create a reward. Its id (R1, R2, ...) names it anywhere a reward name is taken.

    Example: crm reward create "Free latte" --kind in-store --cost 80 --stock 100 --per-member 2 --to 2026-12-31
    """
    from crm_cli.services import rewards

    st = state(ctx)
    with st.transaction() as tx:
        info = rewards.create_reward(
            tx.session, store_id=current_store_id(tx), name=name, kind=kind, cost=cost, stock=stock, per_member=per_member,
            valid_from=valid_from, valid_to=valid_to, min_tier=min_tier, hidden=hidden, description=description,
            now=st.now(), position=position, discount=discount,
        )
        tx.audit(f"created {info.kind} reward {info.id} {info.name} for {info.cost} points")
    st.render(info)


@app.command("list")
def reward_list(ctx: typer.Context) -> None:
    """List rewards with stock left, redeemed count and display status: positioned ones first
    (--position), then the others by cost.

    Example: crm reward list --format csv
    """
    from crm_cli.services import rewards

    show(ctx, rewards.list_rewards, with_now=True, columns=LIST_COLUMNS)


@app.command("show")
def reward_show(ctx: typer.Context, name: NameArg) -> None:
    """Show one reward. Example: crm reward show "Free latte\""""
    from crm_cli.services import rewards

    show(ctx, rewards.show_reward, name=name, with_now=True)


@app.command("edit")
def reward_edit(
    ctx: typer.Context,
    name: NameArg,
    new_name: Annotated[Optional[str], typer.Option("--name", help="Rename the reward.")] = None,
    cost: Annotated[Optional[int], typer.Option("--cost", parser=whole("--cost", 1), metavar="POINTS", help="Points it costs.")] = None,
    stock: Annotated[Optional[str], typer.Option("--stock", parser=whole("--stock", words=("unlimited", "none")), metavar="N|unlimited", help="Units left now, or 'unlimited'.")] = None,
    per_member: Annotated[Optional[str], typer.Option("--per-member", parser=whole("--per-member", 1, words=("none",)), metavar="N|none", help="Limit per member, or 'none'.")] = None,
    valid_from: Annotated[Optional[str], typer.Option("--from", help="First day (YYYY-MM-DD), or 'none'.")] = None,
    valid_to: Annotated[Optional[str], typer.Option("--to", help="Last day (YYYY-MM-DD), or 'none'.")] = None,
    min_tier: Annotated[Optional[str], typer.Option("--min-tier", autocompletion=complete.tiers, help="Lowest tier allowed, or 'none'.")] = None,
    description: Annotated[Optional[str], typer.Option("--description", help="Description ('' clears).")] = None,
    position: PositionOpt = None,
    discount: DiscountOpt = None,
) -> None:
    """Change a reward (only the options given).

    Example: crm reward edit "Free latte" --stock 50 --to 2027-01-31
    """
    from crm_cli.services import rewards

    st = state(ctx)
    with st.transaction() as tx:
        info = rewards.edit_reward(
            tx.session, store_id=current_store_id(tx), name=name, now=st.now(), new_name=new_name, cost=cost, stock=stock,
            per_member=per_member, valid_from=valid_from, valid_to=valid_to, min_tier=min_tier, description=description,
            position=position, discount=discount,
        )
        tx.audit(f"edited reward {info.name}")
    st.render(info)


def _display(ctx: typer.Context, name: str, hidden: bool) -> None:
    from crm_cli.services import rewards

    apply(ctx, rewards.edit_reward, name=name, hidden=hidden,
          audit=lambda info: f"{'hid' if hidden else 'showed'} reward {info.name}")


@app.command("hide")
def reward_hide(ctx: typer.Context, name: NameArg) -> None:
    """Hide a reward from members (it cannot be redeemed while hidden). Example: crm reward hide "Free latte\""""
    _display(ctx, name, True)


@app.command("unhide")
def reward_unhide(ctx: typer.Context, name: NameArg) -> None:
    """Show a hidden reward to members again. Example: crm reward unhide "Free latte\""""
    _display(ctx, name, False)


@app.command("codes")
def reward_codes(
    ctx: typer.Context,
    name: NameArg,
    file: Annotated[Path, typer.Argument(help="Text file (one code a line) or CSV (first column).")],
) -> None:
    """Add a pool of unique codes to a code reward (duplicates refused; stock = unused codes).

    Example: crm reward codes "Online 100 THB off" codes.csv
    """
    from crm_cli.services import rewards

    apply(ctx, rewards.load_codes, name=name, path=file, with_now=False,
          audit=lambda info: f"loaded {info.added} codes into {info.reward}")


@app.command("redeem")
def reward_redeem(
    ctx: typer.Context,
    name: NameArg,
    phone: Annotated[str, typer.Option("--phone", help="Member's phone.")],
    address: Annotated[Optional[str], typer.Option("--address", help="Delivery address (default: the member's address).")] = None,
    branch: BranchOpt = None,
    staff: StaffOpt = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Idempotency key: the same key twice redeems once (and shows the first result).")] = None,
) -> None:
    """Redeem a reward for a registered member: takes the points and one unit of stock, and issues
    an in-store coupon, a delivery, or a pool code. The reward is named by its name or its id (R3).

    Example: crm reward redeem "Free latte" --phone 081-234-5678 --key R-1001
    """
    from crm_cli.services import rewards

    st = state(ctx)
    with st.transaction() as tx:
        res = rewards.redeem(tx.session, store_id=current_store_id(tx), name=name, phone_raw=phone, address=address,
                             now=st.now(), branch=branch, staff=staff, actor=st.actor_name(), key=key)
        tx.audit(f"{mask_phone(res.phone)} {'replayed' if res.duplicate else 'redeemed'} {res.reward} for {res.points} points "
                 f"(redemption #{res.redemption_id})" + (f" (key {key})" if key else ""))
    if res.duplicate:
        st.info(f"key '{key}' was used before: nothing new was written; showing the original redemption")
    st.render(res)
