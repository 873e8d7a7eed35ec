"""Rich menus and message statistics on the fake LINE platform, checked the way LINE
checks them (rich menu object: size 800-2500 wide, at least 250 high, width/height at
least 1.45, chatBarText at most 14 characters, 1-20 areas inside the image, each with an
action; image: JPEG or PNG of exactly the menu's size, at most 1 MB; bulk link/unlink:
1-500 valid user IDs of an existing menu).

    from tests.fakeline.engage import mount
    menus = mount(line)          # line: a running FakeLine
    menus.menus, menus.images, menus.links, menus.default
"""

from __future__ import annotations

import uuid

from tests.fakeline.server import USER_ID, FakeLine, Refused, Req, endpoint

ACTIONS = {"uri", "message", "postback", "datetimepicker", "richmenuswitch", "camera", "cameraRoll", "location"}


def _bad(message: str, prop: str = "") -> Refused:
    return Refused(400, "The request body has 1 error(s)", [{"message": message, "property": prop}])


class RichMenus:
    def __init__(self, line: FakeLine) -> None:
        self.line = line
        self.menus: dict[str, dict] = {}
        self.images: dict[str, tuple[str, bytes]] = {}
        self.links: dict[str, str] = {}  # userId -> richMenuId
        self.default: str | None = None
        self.insight: dict[str, dict] = {}

    def check_menu(self, m: dict) -> None:
        size = m.get("size")
        if not isinstance(size, dict) or not isinstance(size.get("width"), int) or not isinstance(size.get("height"), int):
            raise _bad("size is required", "size")
        w, h = size["width"], size["height"]
        if not 800 <= w <= 2500 or h < 250 or w / h < 1.45:
            raise _bad("invalid size", "size")
        if not isinstance(m.get("selected"), bool):
            raise _bad("must be specified", "selected")
        if not isinstance(m.get("name"), str) or not 1 <= len(m["name"]) <= 300:
            raise _bad("size must be between 1 and 300", "name")
        if not isinstance(m.get("chatBarText"), str) or not 1 <= len(m["chatBarText"]) <= 14:
            raise _bad("size must be between 1 and 14", "chatBarText")
        areas = m.get("areas")
        if not isinstance(areas, list) or not 1 <= len(areas) <= 20:
            raise _bad("size must be between 1 and 20", "areas")
        for i, a in enumerate(areas):
            b = a.get("bounds") if isinstance(a, dict) else None
            if not isinstance(b, dict) or not all(isinstance(b.get(k), int) and b[k] >= 0 for k in ("x", "y", "width", "height")):
                raise _bad("invalid bounds", f"areas[{i}].bounds")
            if b["x"] + b["width"] > w or b["y"] + b["height"] > h:
                raise _bad("bounds out of the image", f"areas[{i}].bounds")
            act = a.get("action")
            if not isinstance(act, dict) or act.get("type") not in ACTIONS:
                raise _bad("invalid action", f"areas[{i}].action")
            if act["type"] == "uri" and not (isinstance(act.get("uri"), str) and 1 <= len(act["uri"]) <= 1000):
                raise _bad("invalid uri", f"areas[{i}].action.uri")
            if act["type"] == "message" and not (isinstance(act.get("text"), str) and 1 <= len(act["text"]) <= 300):
                raise _bad("invalid text", f"areas[{i}].action.text")
            if act["type"] == "postback" and not (isinstance(act.get("data"), str) and 1 <= len(act["data"]) <= 300):
                raise _bad("invalid data", f"areas[{i}].action.data")

    @endpoint("POST", "/v2/bot/richmenu")
    def create(self, req: Req):
        self.line.channel(req)
        data = self.line.body(req)
        self.check_menu(data)
        rid = "richmenu-" + uuid.uuid4().hex
        with self.line.lock:
            self.menus[rid] = data
        return 200, {"richMenuId": rid}

    @endpoint("POST", "/v2/bot/richmenu/{richMenuId}/content")
    def content(self, req: Req):
        self.line.channel(req)
        rid = req.params["richMenuId"]
        menu = self.menus.get(rid)
        if menu is None:
            raise Refused(404, "Not found")
        if rid in self.images:
            raise Refused(400, "An image has already been uploaded to the richmenu")
        ctype = req.headers.get("content-type", "")
        body = req.body
        if ctype not in ("image/png", "image/jpeg"):
            raise Refused(415, "Unsupported Media Type")
        if len(body) > 1024 * 1024:
            raise Refused(413, "Request Entity Too Large")
        from io import BytesIO

        from PIL import Image

        try:
            img = Image.open(BytesIO(body))
        except Exception:  # noqa: BLE001 - anything unreadable is refused
            raise Refused(400, "invalid image") from None
        if (img.format == "PNG") != (ctype == "image/png") or img.size != (menu["size"]["width"], menu["size"]["height"]):
            raise Refused(400, "The image size does not match the rich menu size")
        with self.line.lock:
            self.images[rid] = (ctype, body)
        return 200, {}

    def _existing(self, rid: str) -> None:
        if rid not in self.menus:
            raise Refused(404, "Not found")
        if rid not in self.images:
            raise Refused(400, "An image has not been uploaded to the richmenu")

    @endpoint("POST", "/v2/bot/user/all/richmenu/{richMenuId}")
    def set_default(self, req: Req):
        self.line.channel(req)
        rid = req.params["richMenuId"]
        self._existing(rid)
        self.default = rid
        return 200, {}

    def _user_ids(self, data: dict) -> list[str]:
        ids = data.get("userIds")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 500:
            raise _bad("Size must be between 1 and 500", "userIds")
        if not all(isinstance(u, str) and USER_ID.match(u) for u in ids):
            raise _bad("Invalid user ID", "userIds")
        return ids

    @endpoint("POST", "/v2/bot/richmenu/bulk/link")
    def bulk_link(self, req: Req):
        self.line.channel(req)
        data = self.line.body(req)
        rid = data.get("richMenuId")
        self._existing(rid)
        ids = self._user_ids(data)
        with self.line.lock:
            for u in ids:
                self.links[u] = rid
        return 202, {}

    @endpoint("POST", "/v2/bot/richmenu/bulk/unlink")
    def bulk_unlink(self, req: Req):
        self.line.channel(req)
        ids = self._user_ids(self.line.body(req))
        with self.line.lock:
            for u in ids:
                self.links.pop(u, None)
        return 202, {}

    @endpoint("DELETE", "/v2/bot/richmenu/{richMenuId}")
    def delete(self, req: Req):
        self.line.channel(req)
        rid = req.params["richMenuId"]
        if rid not in self.menus:
            raise Refused(404, "Not found")
        with self.line.lock:
            self.menus.pop(rid)
            self.images.pop(rid, None)
            self.links = {u: r for u, r in self.links.items() if r != rid}
            if self.default == rid:
                self.default = None
        return 200, {}

    @endpoint("GET", "/v2/bot/richmenu/list")
    def list(self, req: Req):
        self.line.channel(req)
        return 200, {"richmenus": [{"richMenuId": rid, **m} for rid, m in self.menus.items()]}

    @endpoint("GET", "/v2/bot/insight/message/event")
    def insight_event(self, req: Req):
        self.line.channel(req)
        rid = req.query.get("requestId")
        if not rid:
            raise Refused(400, "requestId is required")
        with self.line.lock:
            known = rid in set(self.line.retry_keys.values())
        if not known:
            return 200, {"overview": {"requestId": rid, "timestamp": 0, "delivered": 0}, "messages": [], "clicks": []}
        stats = self.insight.get(rid, {"delivered": None})
        return 200, {"overview": {"requestId": rid, "timestamp": 0, **stats}, "messages": [], "clicks": []}


def mount(line: FakeLine) -> RichMenus:
    menus = RichMenus(line)
    line.mount(menus)
    line.richmenus = menus
    return menus
