"""Page text in Thai (first) and English. Messages from the services (errors) are the
CLI's own words and are shown as they are."""

from __future__ import annotations

LANGS = ("th", "en")

TEXT: dict[str, tuple[str, str]] = {
    # common
    "lang_other": ("English", "ภาษาไทย"),
    "member_card": ("บัตรสมาชิก", "Member card"),
    "history": ("ประวัติแต้ม", "Points history"),
    "rewards": ("ของรางวัล", "Rewards"),
    "coupons": ("คูปองของฉัน", "My coupons"),
    "sign_out": ("ออกจากระบบ", "Sign out"),
    "back": ("กลับ", "Back"),
    "error": ("เกิดข้อผิดพลาด", "Something went wrong"),
    "not_found": ("ไม่พบหน้าที่ต้องการ", "Not found"),
    "suspended": ("ร้านนี้ปิดให้บริการ CRM ชั่วคราว", "This store's CRM service is suspended"),
    "not_allowed": ("ไม่มีสิทธิ์", "Not allowed"),
    "too_many": ("ลองหลายครั้งเกินไป", "Too many attempts"),
    "line_failed": ("เชื่อมต่อ LINE ไม่สำเร็จ", "LINE did not answer"),
    "try_again": ("ลองอีกครั้ง", "Try again"),
    "sign_in_line": ("เข้าสู่ระบบด้วย LINE", "Sign in with LINE"),
    "sign_in_cancelled": ("ยกเลิกการเข้าสู่ระบบ", "Sign-in cancelled"),
    "sign_in_expired": ("การเข้าสู่ระบบหมดอายุหรือไม่ถูกต้อง กรุณาลองใหม่",
                        "The sign-in expired or did not start here; please try again"),
    "no_login_channel": ("ร้านนี้ยังไม่ได้ตั้งค่า LINE Login", "This store has not set up LINE Login yet"),
    "points": ("แต้ม", "points"),
    "points_title": ("แต้มสะสม", "Points"),
    "tier": ("ระดับสมาชิก", "Tier"),
    "no_tier": ("ยังไม่มีระดับ", "No tier yet"),
    "to_next_tier": ("อีก {n} แต้มถึงระดับ {tier}", "{n} points to {tier}"),
    "top_tier": ("ระดับสูงสุดแล้ว", "Top tier reached"),
    "next_expiry": ("{n} แต้มจะหมดอายุวันที่ {day}", "{n} points expire on {day}"),
    "no_expiry": ("ไม่มีแต้มใกล้หมดอายุ", "No points expiring"),
    "show_qr": ("แสดง QR นี้ให้พนักงานเพื่อสะสมแต้ม", "Show this QR to the staff to collect points"),
    "member_qr": ("QR สมาชิก", "Member QR"),
    # registration
    "register_title": ("สมัครสมาชิก", "Register"),
    "confirm_title": ("ยืนยันข้อมูลสมาชิก", "Confirm your details"),
    "confirm_intro": ("ร้านได้ย้ายข้อมูลสมาชิกของคุณมาแล้ว กรุณายืนยันข้อมูลและยอมรับข้อกำหนด",
                      "The shop moved your membership here: please confirm your details and accept the terms"),
    "phone": ("เบอร์โทรศัพท์", "Phone number"),
    "name": ("ชื่อ-นามสกุล", "Full name"),
    "birthday": ("วันเกิด", "Birthday"),
    "gender": ("เพศ", "Gender"),
    "email": ("อีเมล", "Email"),
    "optional": ("ไม่บังคับ", "optional"),
    "gender_none": ("ไม่ระบุ", "Not specified"),
    "gender_male": ("ชาย", "Male"),
    "gender_female": ("หญิง", "Female"),
    "gender_other": ("อื่นๆ", "Other"),
    "terms": ("ข้อกำหนดและเงื่อนไข (ฉบับที่ {v})", "Terms and conditions (version {v})"),
    "accept_terms": ("ฉันยอมรับข้อกำหนดและเงื่อนไข", "I accept the terms and conditions"),
    "questions": ("คำถามเพิ่มเติม", "A few questions"),
    "choose": ("เลือก", "Choose"),
    "submit_register": ("สมัครสมาชิก", "Register"),
    "submit_confirm": ("ยืนยัน", "Confirm"),
    "no_terms": ("ร้านยังไม่ได้กำหนดข้อกำหนดและเงื่อนไข จึงยังสมัครไม่ได้",
                 "The shop has not published its terms yet, so registration is not open"),
    "welcome": ("ยินดีต้อนรับ! ได้รับแต้มต้อนรับ {n} แต้ม", "Welcome! {n} welcome points added"),
    "registered": ("สมัครสมาชิกเรียบร้อย", "You are registered"),
    "merged": ("รวมแต้มที่สะสมไว้ก่อนหน้า {n} แต้ม", "{n} points you collected before are yours"),
    "confirmed": ("ยืนยันข้อมูลเรียบร้อย", "Your details are confirmed"),
    # history
    "when": ("วันที่", "When"),
    "what": ("รายการ", "What"),
    "no_history": ("ยังไม่มีรายการ", "Nothing yet"),
    "kind_earn": ("สะสมแต้ม", "Earned"),
    "kind_welcome": ("แต้มต้อนรับ", "Welcome points"),
    "kind_redeem": ("แลกของรางวัล", "Redeemed"),
    "kind_expire": ("แต้มหมดอายุ", "Expired"),
    "kind_adjust": ("ปรับแต้ม", "Adjusted"),
    "kind_refund": ("คืนแต้ม", "Returned"),
    "kind_import": ("แต้มยกมา", "Opening balance"),
    # rewards
    "cost": ("{n} แต้ม", "{n} points"),
    "stock": ("เหลือ {n}", "{n} left"),
    "unlimited": ("ไม่จำกัดจำนวน", "unlimited"),
    "until": ("ถึง {day}", "until {day}"),
    "for_tier": ("สำหรับระดับ {tier} ขึ้นไป", "for {tier} and up"),
    "redeem": ("แลก", "Redeem"),
    "not_enough": ("แต้มไม่พอ", "Not enough points"),
    "no_rewards": ("ยังไม่มีของรางวัลให้แลก", "No rewards to redeem right now"),
    "confirm_redeem": ("ยืนยันการแลก", "Confirm redemption"),
    "redeem_question": ("แลก {reward} ด้วย {n} แต้ม?", "Redeem {reward} for {n} points?"),
    "balance_after": ("แต้มคงเหลือหลังแลก: {n}", "Points left afterwards: {n}"),
    "address": ("ที่อยู่สำหรับจัดส่ง", "Delivery address"),
    "kind_in-store": ("คูปองใช้ที่ร้าน", "In-store coupon"),
    "kind_delivery": ("จัดส่งถึงบ้าน", "Delivered to you"),
    "kind_code": ("โค้ดส่วนลด", "Discount code"),
    "cancel": ("ยกเลิก", "Cancel"),
    "redeemed": ("แลกเรียบร้อย", "Redeemed"),
    # coupons
    "code": ("รหัส", "Code"),
    "valid_until": ("ใช้ได้ถึง {day}", "Valid until {day}"),
    "status": ("สถานะ", "Status"),
    "status_issued": ("พร้อมใช้", "Ready to use"),
    "status_used": ("ใช้แล้ว", "Used"),
    "status_cancelled": ("ยกเลิกแล้ว", "Cancelled"),
    "status_pending": ("รอดำเนินการ", "Pending"),
    "status_preparing": ("กำลังเตรียมจัดส่ง", "Preparing"),
    "status_shipped": ("จัดส่งแล้ว", "Shipped"),
    "status_delivered": ("ได้รับแล้ว", "Delivered"),
    "tracking": ("เลขพัสดุ", "Tracking"),
    "no_coupons": ("ยังไม่มีคูปอง", "No coupons yet"),
    "show_coupon": ("แสดงคูปองนี้ให้พนักงาน", "Show this coupon to the staff"),
    # claim
    "claim_title": ("รับแต้มจาก QR", "Collect points from a QR code"),
    "claim_button": ("รับแต้ม", "Collect points"),
    "claim_intro": ("กดปุ่มเพื่อรับแต้มจากการซื้อครั้งนี้", "Press the button to collect the points of this purchase"),
    "claimed": ("ได้รับ {n} แต้ม", "{n} points collected"),
    "register_first": ("กรุณาสมัครสมาชิกก่อนรับแต้ม", "Please register first, then collect the points"),
    # staff
    "staff_title": ("หน้าพนักงาน", "Staff"),
    "join_title": ("เข้าร่วมเป็นพนักงาน", "Join as staff"),
    "join_button": ("เข้าร่วม", "Join"),
    "joined": ("เข้าร่วมเป็นพนักงานเรียบร้อย", "You are staff now"),
    "not_staff": ("บัญชี LINE นี้ไม่ใช่พนักงานของร้าน", "This LINE account is not staff of this store"),
    "give_points": ("ให้แต้ม", "Give points"),
    "member_phone_or_qr": ("เบอร์โทรหรือ QR สมาชิก", "Phone or member QR"),
    "spend": ("ยอดซื้อ (บาท)", "Spend (THB)"),
    "branch": ("สาขา", "Branch"),
    "give_button": ("ให้แต้ม", "Give points"),
    "gave": ("ให้ {n} แต้มแก่ {phone} แล้ว (คงเหลือ {balance})", "Gave {n} points to {phone} (balance {balance})"),
    "use_coupon": ("ใช้คูปอง", "Use a coupon"),
    "coupon_code": ("รหัสคูปอง", "Coupon code"),
    "use_button": ("ใช้คูปอง", "Use coupon"),
    "coupon_used": ("ใช้คูปอง {code} ({reward}) แล้ว", "Coupon {code} ({reward}) used"),
    "today": ("รายการวันนี้ของสาขา {branch}", "Today at {branch}"),
    "nothing_today": ("ยังไม่มีรายการวันนี้", "Nothing yet today"),
    "role_admin": ("ผู้ดูแล", "admin"),
    "role_staff": ("พนักงาน", "staff"),
}


def pick(request, remembered: str | None) -> str:
    """?lang=th|en first, then the language remembered in the session, then Accept-Language; Thai by default."""
    q = (request.query_params.get("lang") or "").lower()
    if q in LANGS:
        return q
    if remembered in LANGS:
        return remembered
    for part in (request.headers.get("accept-language") or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("th"):
            return "th"
        if tag.startswith("en"):
            return "en"
    return "th"


def translator(lang: str, table: dict[str, tuple[str, str]] | None = None):
    """``t(key, **fields)``: the words for ``key`` in ``lang`` from ``table`` (default: the
    shared words), with ``fields`` filled in; an unknown key is shown as it is."""
    idx = 0 if lang == "th" else 1
    words = TEXT if table is None else table

    def t(key: str, **kw) -> str:
        pair = words.get(key)
        text = pair[idx] if pair else key
        return text.format(**kw) if kw else text

    return t
