"""Rich menus: a layout (LINE's rich menu object) and an image, made on LINE, shown by
default or linked to the followers of a segment.

Areas take LINE's ``uri`` and ``message`` actions, or ``{"type": "none"}``; an optional
``"tag"`` on an area makes the tap send postback data ``tag=NAME`` (the webhook turns it
into an active tag): a ``message`` area with a tag becomes a postback that still shows
its text in the chat. A link (``uri``) cannot carry a tag: LINE reports no event for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlmodel import col

from crm_cli.db.models import RichMenu, RichMenuLink, Segment
from crm_cli.domain.errors import Conflict, InvalidInput
from crm_cli.services import named

BATCH = 500
MAX_IMAGE = 1024 * 1024


@dataclass(frozen=True)
class LinkResult:
    menu: str
    segment: str
    linked: int
    unlinked: int
    requests: int


# ---------------------------------------------------------------- checks (pure)


def check_image(data: bytes) -> tuple[str, tuple[int, int]]:
    """(content type, (width, height)) of a PNG or JPEG within LINE's limits."""
    if len(data) > MAX_IMAGE:
        raise InvalidInput(f"the image is {len(data):,} bytes; LINE takes at most 1 MB (1,048,576 bytes)")
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(BytesIO(data))
    except (UnidentifiedImageError, OSError):
        raise InvalidInput("the image must be a PNG or JPEG file") from None
    kind = {"PNG": "image/png", "JPEG": "image/jpeg"}.get(img.format or "")
    if kind is None:
        raise InvalidInput(f"the image is {img.format}; LINE takes PNG or JPEG")
    w, h = img.size
    if not 800 <= w <= 2500 or h < 250 or w / h < 1.45:
        raise InvalidInput(f"the image is {w}x{h}; LINE takes 800 to 2500 pixels wide, at least 250 high, "
                           "and at least 1.45 times as wide as high (e.g. 2500x1686 or 2500x843)")
    return kind, (w, h)


def build_layout(raw: str, *, name: str, size: tuple[int, int]) -> tuple[dict, list[str]]:
    """LINE's rich menu object from the layout file, and the action tags it uses."""
    from crm_cli.services.autoreplies import json_object
    from crm_cli.services.followers import normalize_tag

    m = json_object(raw, "layout", kind=" (LINE's rich menu object)")
    w, h = size
    given = m.get("size")
    if given is not None and given != {"width": w, "height": h}:
        raise InvalidInput(f"the layout's size {given} differs from the image's {w}x{h}")
    bar = m.get("chatBarText", "Menu")
    if not isinstance(bar, str) or not 1 <= len(bar) <= 14:
        raise InvalidInput("chatBarText must be 1 to 14 characters")
    areas = m.get("areas")
    if not isinstance(areas, list) or not 1 <= len(areas) <= 20:
        raise InvalidInput("a rich menu needs 1 to 20 areas")
    out, tags = [], []
    for i, a in enumerate(areas, 1):
        b = a.get("bounds") if isinstance(a, dict) else None
        if not isinstance(b, dict) or not all(isinstance(b.get(k), int) and not isinstance(b.get(k), bool) and b[k] >= 0
                                              for k in ("x", "y", "width", "height")):
            raise InvalidInput(f"area {i}: bounds need whole-number x, y, width and height")
        if b["width"] < 1 or b["height"] < 1 or b["x"] + b["width"] > w or b["y"] + b["height"] > h:
            raise InvalidInput(f"area {i}: the bounds lie outside the {w}x{h} image")
        act = a.get("action")
        if not isinstance(act, dict):
            raise InvalidInput(f"area {i}: needs an action: uri, message or none")
        tag = a.get("tag", act.get("tag"))
        if tag is not None:
            tag = normalize_tag(str(tag))
            tags.append(tag)
        t = act.get("type")
        if t == "uri":
            uri = act.get("uri")
            if not isinstance(uri, str) or not uri.startswith(("https://", "http://", "line://", "tel:")) or len(uri) > 1000:
                raise InvalidInput(f"area {i}: uri must be an http(s), line or tel link of at most 1,000 characters")
            if tag:
                raise InvalidInput(f"area {i}: a link cannot carry an action tag (LINE sends no event for links); "
                                   "use a message or none area for the tag")
            action = {"type": "uri", "uri": uri}
        elif t == "message":
            text = act.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > 300:
                raise InvalidInput(f"area {i}: the message text must be 1 to 300 characters")
            action = ({"type": "postback", "data": f"tag={tag}", "displayText": text} if tag
                      else {"type": "message", "text": text})
        elif t in ("none", None):
            action = {"type": "postback", "data": f"tag={tag}" if tag else "none"}
        else:
            raise InvalidInput(f"area {i}: action type must be uri, message or none, not {t!r}")
        if isinstance(act.get("label"), str):
            action["label"] = act["label"][:20]
        out.append({"bounds": {k: b[k] for k in ("x", "y", "width", "height")}, "action": action})
    menu = {"size": {"width": w, "height": h}, "selected": bool(m.get("selected", False)), "name": name[:300],
            "chatBarText": bar, "areas": out}
    return menu, tags


# ---------------------------------------------------------------- rows


@dataclass(frozen=True)
class MenuRow:
    name: str
    line_richmenu_id: str
    default: bool
    segment: str | None
    linked: int
    areas: int
    tags: list[str]
    created_at: datetime


def _get(session, store_id: int, name: str) -> RichMenu:
    return named.get(session, RichMenu, store_id, name, col(RichMenu.removed_at).is_(None),
                     missing=f"rich menu '{name}' not found: see `crm richmenu list`")


def _row(session, r: RichMenu) -> MenuRow:
    layout = json.loads(r.layout)
    linked = session.execute(select(func.count()).select_from(RichMenuLink).where(col(RichMenuLink.richmenu_id) == r.id)).scalar()
    tags = sorted({a["action"]["data"][4:] for a in layout["areas"]
                   if a["action"]["type"] == "postback" and a["action"]["data"].startswith("tag=")})
    seg = session.get(Segment, r.segment_id).name if r.segment_id else None
    return MenuRow(name=r.name, line_richmenu_id=r.line_richmenu_id, default=r.is_default, segment=seg,
                   linked=int(linked or 0), areas=len(layout["areas"]), tags=tags, created_at=r.created_at)


def create(session, *, store_id: int, name: str, image: bytes, layout_raw: str, api, now: datetime) -> MenuRow:
    n = " ".join((name or "").split())
    if not n or len(n) > 80:
        raise InvalidInput("a rich menu name must be 1 to 80 characters")
    if session.execute(select(col(RichMenu.id)).where(col(RichMenu.store_id) == store_id, col(RichMenu.name) == n)).first():
        raise Conflict(f"rich menu '{n}' already exists")
    kind, size = check_image(image)
    menu, _ = build_layout(layout_raw, name=n, size=size)
    rid = api.create_rich_menu(menu)
    try:
        api.upload_rich_menu_image(rid, image, kind)
    except Exception:
        api.delete_rich_menu(rid)  # leave nothing half-made on LINE
        raise
    row = RichMenu(store_id=store_id, name=n, line_richmenu_id=rid, layout=json.dumps(menu, ensure_ascii=False), created_at=now)
    session.add(row)
    session.flush()
    return _row(session, row)


def make_default(session, *, store_id: int, name: str, api) -> MenuRow:
    row = _get(session, store_id, name)
    api.set_default_rich_menu(row.line_richmenu_id)
    for other in session.execute(select(RichMenu).where(col(RichMenu.store_id) == store_id, col(RichMenu.is_default).is_(True))).scalars():
        other.is_default = False
        session.add(other)
    row.is_default = True
    session.add(row)
    session.flush()
    return _row(session, row)


def _segment_followers(session, store_id: int, seg: Segment, now: datetime) -> dict[int, str]:
    """follower id -> userId of the segment's people who follow the account."""
    from crm_cli.services import segments

    sub = segments.audience_select(session, store_id=store_id, spec=segments.spec_of(seg), now=now).subquery("aud")
    rows = session.execute(select(sub.c.follower_id, sub.c.user_id).where(
        sub.c.follower_id.is_not(None), sub.c.status.is_not(None), sub.c.status != "blocked"))
    return {fid: uid for fid, uid in rows}


def sync_links(session, *, store_id: int, menu: RichMenu, now: datetime, api) -> LinkResult:
    """Link the segment's followers not yet on this menu, unlink those who left it."""
    from crm_cli.db.models import LineFollower

    seg = session.get(Segment, menu.segment_id)
    want = _segment_followers(session, store_id, seg, now)
    have = set(session.execute(select(col(RichMenuLink.follower_id)).where(col(RichMenuLink.richmenu_id) == menu.id)).scalars())
    new = [fid for fid in want if fid not in have]
    gone = [fid for fid in have if fid not in want]
    requests = 0
    for i in range(0, len(new), BATCH):
        chunk = new[i:i + BATCH]
        api.link_rich_menu(menu.line_richmenu_id, [want[f] for f in chunk])
        requests += 1
        session.execute(delete(RichMenuLink).where(col(RichMenuLink.follower_id).in_(chunk)))
        session.execute(insert(RichMenuLink), [dict(follower_id=f, richmenu_id=menu.id, linked_at=now) for f in chunk])
    if gone:
        users = dict(session.execute(select(col(LineFollower.id), col(LineFollower.user_id)).where(col(LineFollower.id).in_(gone))).all())
        for i in range(0, len(gone), BATCH):
            chunk = gone[i:i + BATCH]
            api.unlink_rich_menus([users[f] for f in chunk])
            requests += 1
            session.execute(delete(RichMenuLink).where(col(RichMenuLink.follower_id).in_(chunk)))
    session.flush()
    return LinkResult(menu=menu.name, segment=seg.name, linked=len(new), unlinked=len(gone), requests=requests)


def link(session, *, store_id: int, name: str, segment: str, api, now: datetime) -> LinkResult:
    from crm_cli.services import segments

    row = _get(session, store_id, name)
    seg = segments.get(session, store_id, segment)
    if row.segment_id is not None and row.segment_id != seg.id:
        raise Conflict(f"rich menu '{row.name}' is linked to segment '{session.get(Segment, row.segment_id).name}'; "
                       "make a second menu for another segment")
    row.segment_id = seg.id
    session.add(row)
    session.flush()
    return sync_links(session, store_id=store_id, menu=row, now=now, api=api)


def list_menus(session, *, store_id: int) -> list[MenuRow]:
    rows = session.execute(select(RichMenu).where(col(RichMenu.store_id) == store_id, col(RichMenu.removed_at).is_(None))
                           .order_by(RichMenu.name)).scalars().all()
    return [_row(session, r) for r in rows]


def remove(session, *, store_id: int, name: str, api, now: datetime) -> str:
    row = _get(session, store_id, name)
    api.delete_rich_menu(row.line_richmenu_id)  # LINE unlinks its users itself
    session.execute(delete(RichMenuLink).where(col(RichMenuLink.richmenu_id) == row.id))
    row.removed_at, row.is_default, row.segment_id = now, False, None
    row.name = f"{row.name} (removed {row.id})"[:80]
    session.add(row)
    session.flush()
    return name


def job_relink(engine, *, now: datetime, clock=None, store_id: int | None = None, dry_run: bool = False) -> str:
    """Maintenance: re-link the followers whose segment changed, menu by menu."""
    from crm_cli.db.uow import unit_of_work
    from crm_cli.domain.errors import CrmError
    from crm_cli.line.client import MessagingApi
    from crm_cli.services import line_channel

    with unit_of_work(engine, write=False) as session:
        q = select(col(RichMenu.id), col(RichMenu.store_id), col(RichMenu.name)).where(col(RichMenu.segment_id).is_not(None), col(RichMenu.removed_at).is_(None))
        if store_id is not None:
            q = q.where(col(RichMenu.store_id) == store_id)
        menus = session.execute(q.order_by(col(RichMenu.id))).all()
    from crm_cli.services.maintenance import Outcome

    counts = {"menus": len(menus), "linked": 0, "unlinked": 0}
    if not menus:
        return Outcome("no rich menus linked to segments", counts)
    if dry_run:  # linking talks to LINE: a dry run only names the menus
        return Outcome(f"{len(menus)} rich menu(s) to re-link: " + ", ".join(m[2] for m in menus), counts)
    done, failed = [], []
    for mid, sid, name in menus:
        try:
            with unit_of_work(engine, write=True) as session:
                token = line_channel.credentials(session, store_id=sid).access_token
                menu = session.get(RichMenu, mid)
                if menu is None:  # its store was purged since the list was read
                    continue
                with MessagingApi(token) as api:
                    r = sync_links(session, store_id=sid, menu=menu, now=now, api=api)
            done.append(f"{name}: {r.linked} linked, {r.unlinked} unlinked")
            counts["linked"] += r.linked
            counts["unlinked"] += r.unlinked
        except CrmError as exc:
            failed.append(f"{name}: {exc.message}")
    if failed:
        from crm_cli.services.maintenance import JobFailed

        raise JobFailed("; ".join(done + failed))
    return Outcome("; ".join(done), counts)
