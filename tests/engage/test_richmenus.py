"""crm richmenu against the fake LINE platform's rich menu endpoints, both databases."""

from __future__ import annotations

import json
from io import BytesIO

import pytest

from crm_cli.domain.errors import ExitCode
from tests.engage.support import many_followers
from tests.fakeline.engage import mount


@pytest.fixture
def menus(connected):
    return mount(connected.line)


def _png(tmp_path, size=(2500, 843), name="menu.png", fmt="PNG"):
    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buf, fmt)
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return path


def _layout(tmp_path, areas=None):
    path = tmp_path / "layout.json"
    path.write_text(json.dumps({"chatBarText": "เมนู", "areas": areas or [
        {"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843}, "action": {"type": "uri", "uri": "https://shop.example.com/m/cafe"}},
        {"bounds": {"x": 1250, "y": 0, "width": 625, "height": 843}, "action": {"type": "message", "text": "Coffee please"}, "tag": "coffee-lover"},
        {"bounds": {"x": 1875, "y": 0, "width": 625, "height": 843}, "action": {"type": "none"}, "tag": "tea-lover"},
    ]}), encoding="utf-8")
    return path


def test_create_default_link_1001_followers_in_3_requests_and_relink(connected, menus, tmp_path):
    cli, line = connected, connected.line
    res = cli.json("richmenu", "create", "main", "--image", str(_png(tmp_path)), "--layout", str(_layout(tmp_path)))
    assert res["areas"] == 3 and res["tags"] == ["coffee-lover", "tea-lover"]
    rid = res["line_richmenu_id"]
    sent = menus.menus[rid]
    assert sent["size"] == {"width": 2500, "height": 843} and sent["chatBarText"] == "เมนู"
    assert [a["action"] for a in sent["areas"]][1:] == [
        {"type": "postback", "data": "tag=coffee-lover", "displayText": "Coffee please"},
        {"type": "postback", "data": "tag=tea-lover"}]
    assert menus.images[rid][0] == "image/png"
    cli.ok("richmenu", "default", "main")
    assert menus.default == rid
    ids = many_followers(cli, tmp_path, 1001)
    cli.ok("segment", "create", "all")
    cli.ok("richmenu", "create", "gold", "--image", str(_png(tmp_path, name="g.png")), "--layout", str(_layout(tmp_path)))
    out = cli.json("richmenu", "link", "gold", "--segment", "all")
    assert out["linked"] == 1001 and out["requests"] == 3
    calls = line.calls("POST", "/v2/bot/richmenu/bulk/link")
    assert [len(r.json()["userIds"]) for r in calls] == [500, 500, 1]
    gold = cli.json("richmenu", "list")[0]
    assert gold["name"] == "gold" and gold["linked"] == 1001 and gold["segment"] == "all"
    assert set(menus.links) == set(ids)
    # the segment changes: maintenance links the newcomers only and unlinks who left
    cli.ok("segment", "edit", "all", "--not-tag", "gone")
    cli.ok("follower", "tag", ids[0], "gone")
    new = many_followers(cli, tmp_path, 2, start=5000)
    out = cli.ok("maintenance", "run", "--only", "richmenus").stdout
    assert "gold: 2 linked, 1 unlinked" in out
    assert len(line.calls("POST", "/v2/bot/richmenu/bulk/link")) == 4
    assert line.calls("POST", "/v2/bot/richmenu/bulk/unlink")[0].json() == {"userIds": [ids[0]]}
    assert set(new) <= set(menus.links) and ids[0] not in menus.links
    cli.ok("richmenu", "remove", "gold")
    assert rid not in [r["line_richmenu_id"] for r in cli.json("richmenu", "list") if r["name"] == "gold"]
    assert [r["name"] for r in cli.json("richmenu", "list")] == ["main"]


def test_images_and_layouts_are_checked_before_anything_is_made(connected, menus, tmp_path):
    cli = connected
    lay = _layout(tmp_path)
    assert "2500x600" in cli.fails(ExitCode.INVALID_INPUT, "richmenu", "create", "m", "--image", str(_png(tmp_path, (2500, 600))), "--layout", str(lay))
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + b"0" * (1024 * 1024 + 1))
    assert "at most 1 MB" in cli.fails(ExitCode.INVALID_INPUT, "richmenu", "create", "m", "--image", str(big), "--layout", str(lay))
    gif = _png(tmp_path, name="m.gif", fmt="GIF")
    assert "PNG or JPEG" in cli.fails(ExitCode.INVALID_INPUT, "richmenu", "create", "m", "--image", str(gif), "--layout", str(lay))
    bad = _layout(tmp_path, [{"bounds": {"x": 0, "y": 0, "width": 2600, "height": 843}, "action": {"type": "none"}}])
    assert "outside" in cli.fails(ExitCode.INVALID_INPUT, "richmenu", "create", "m", "--image", str(_png(tmp_path)), "--layout", str(bad))
    tagged_link = _layout(tmp_path, [{"bounds": {"x": 0, "y": 0, "width": 10, "height": 10},
                                      "action": {"type": "uri", "uri": "https://x.example"}, "tag": "t"}])
    assert "cannot carry an action tag" in cli.fails(ExitCode.INVALID_INPUT, "richmenu", "create", "m", "--image", str(_png(tmp_path)),
                                                     "--layout", str(tagged_link))
    assert not menus.menus and not connected.line.calls("POST", "/v2/bot/richmenu")
    jpeg = _png(tmp_path, (1200, 810), name="m.jpg", fmt="JPEG")
    small = _layout(tmp_path, [{"bounds": {"x": 0, "y": 0, "width": 1200, "height": 810}, "action": {"type": "message", "text": "hi"}}])
    assert cli.json("richmenu", "create", "m", "--image", str(jpeg), "--layout", str(small))["areas"] == 1
