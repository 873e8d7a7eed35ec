"""The registration form of a store: versioned terms, questions (with tags on choices), sign-up link.

Terms: every change of text is a new version (1, 2, ...); registering records the
version the member accepted. Setting the same text again changes nothing.

Questions: ``text`` (free text), ``choice`` (one value), ``multi`` (several values,
comma-separated on the command line) and ``date``. A choice value may carry a tag
(``--choice "office worker:working-age"``) that a member who picks it receives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import col, select

from crm_cli.db.models import FormQuestion, FormTerms, Store
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound

KINDS = ("text", "choice", "multi", "date")
MAX_TERMS_CHARS = 100_000


@dataclass(frozen=True)
class TermsInfo:
    version: int
    created_at: datetime
    chars: int
    changed: bool  # False: the text equals the current version, nothing new was written


@dataclass(frozen=True)
class Choice:
    value: str
    tag: str | None


@dataclass(frozen=True)
class QuestionInfo:
    number: int
    text: str
    kind: str
    required: bool
    choices: list[Choice]
    retention_days: int | None


@dataclass(frozen=True)
class FormInfo:
    terms_version: int | None
    terms_updated_at: datetime | None
    terms: str | None
    questions: list[QuestionInfo]
    sign_up_link: str


@dataclass(frozen=True)
class LinkInfo:
    link: str
    terms_version: int | None
    questions: int


@dataclass(frozen=True)
class QuestionRemoved:
    number: int
    text: str
    answers_deleted: int


# ---------------------------------------------------------------- terms


def current_terms(session, store_id: int) -> FormTerms | None:
    return session.exec(
        select(FormTerms).where(col(FormTerms.store_id) == store_id).order_by(col(FormTerms.version).desc()).limit(1)
    ).first()


def consented_terms(session, store_id: int, *, accept_terms: bool) -> FormTerms:
    """The terms a sign-up consents to: refused when the store has none yet, or when the
    member has not accepted them."""
    terms = current_terms(session, store_id)
    if terms is None:
        raise Conflict("this store has no terms and conditions to consent to yet: run `crm form terms --file TERMS.md` first")
    if not accept_terms:
        raise Conflict(
            f"registration needs the member's consent to the terms (version {terms.version}, see `crm form show`): "
            "pass --accept-terms once they accepted"
        )
    return terms


def set_terms(session, *, store_id: int, text: str, now: datetime) -> TermsInfo:
    """Store a new version of the terms (or nothing when the text is unchanged)."""
    body = (text or "").replace("\r\n", "\n").strip()
    if not body:
        raise InvalidInput("the terms file is empty: write the terms and conditions (privacy policy) into it")
    if len(body) > MAX_TERMS_CHARS:
        raise InvalidInput(f"the terms are {len(body)} characters long; the limit is {MAX_TERMS_CHARS}")
    cur = current_terms(session, store_id)
    if cur is not None and cur.text == body:
        return TermsInfo(version=cur.version, created_at=cur.created_at, chars=len(body), changed=False)
    version = (cur.version if cur else 0) + 1
    row = FormTerms(store_id=store_id, version=version, text=body, created_at=now)
    session.add(row)
    session.flush()
    return TermsInfo(version=version, created_at=now, chars=len(body), changed=True)


# ---------------------------------------------------------------- questions


def parse_choice(raw: str) -> Choice:
    """``VALUE`` or ``VALUE:TAG`` (the last colon separates the tag)."""
    raw = (raw or "").strip()
    value, tag = raw, None
    if ":" in raw:
        value, tag = raw.rsplit(":", 1)
        value, tag = value.strip(), tag.strip() or None
    if not value:
        raise InvalidInput(f"empty choice value in '{raw}': use --choice VALUE or --choice VALUE:TAG")
    if "," in value:
        raise InvalidInput(f"choice value '{value}' must not contain a comma (commas separate multiple answers)")
    if tag is not None:
        tag = normalize_tag(tag)
    return Choice(value=value, tag=tag)


def normalize_tag(raw: str) -> str:
    from crm_cli.domain import member_fields

    return member_fields.tag(raw)


def question_choices(q: FormQuestion) -> list[Choice]:
    if not q.choices_json:
        return []
    return [Choice(value=c["value"], tag=c.get("tag")) for c in json.loads(q.choices_json)]


def add_question(
    session,
    *,
    store_id: int,
    text: str,
    kind: str,
    choices: list[str] | None = None,
    required: bool = False,
    retention_days: int | None = None,
    now: datetime,
) -> QuestionInfo:
    text = _question_text(text)
    if kind not in KINDS:
        raise InvalidInput(f"unknown question kind '{kind}': use one of {', '.join(KINDS)}")
    parsed = _choices(kind, choices or [])
    if retention_days is not None and retention_days < 1:
        raise InvalidInput("--retention-days must be at least 1")
    _no_duplicate(session, store_id, text)
    position = session.exec(
        select(func.coalesce(func.max(FormQuestion.position), 0)).where(FormQuestion.store_id == store_id)
    ).one() + 1
    q = FormQuestion(
        store_id=store_id, text=text, kind=kind, required=required, position=position,
        retention_days=retention_days, created_at=now,
        choices_json=json.dumps([{"value": c.value, "tag": c.tag} for c in parsed], ensure_ascii=False) if parsed else None,
    )
    session.add(q)
    session.flush()
    return _question_info(q)


def _question_text(raw: str) -> str:
    text = " ".join((raw or "").split())
    if not text:
        raise InvalidInput("the question text is empty")
    if len(text) > 300:
        raise InvalidInput("the question text is longer than 300 characters")
    if "=" in text:
        raise InvalidInput("the question text must not contain '=' (answers are given as QUESTION=VALUE)")
    return text


def _choices(kind: str, raw: list[str]) -> list[Choice]:
    parsed = [parse_choice(c) for c in raw]
    if kind in ("choice", "multi"):
        if len(parsed) < 2:
            raise InvalidInput(f"a {kind} question needs at least two --choice values")
        seen: set[str] = set()
        for c in parsed:
            if c.value.casefold() in seen:
                raise InvalidInput(f"choice '{c.value}' is given twice")
            seen.add(c.value.casefold())
    elif parsed:
        raise InvalidInput(f"a {kind} question takes no --choice values")
    return parsed


def _no_duplicate(session, store_id: int, text: str, *, other_than: int | None = None) -> None:
    dup = session.exec(select(FormQuestion.id).where(FormQuestion.store_id == store_id, FormQuestion.text == text)).first()
    if dup is not None and dup != other_than:
        raise Conflict(f"the form already has the question '{text}': see `crm form show`")


def get_question(session, store_id: int, ref: str) -> FormQuestion:
    """A question by its number (as `crm form question list` shows it) or its exact text."""
    ref = " ".join((ref or "").split())
    qs = questions(session, store_id)
    if ref.isdigit():
        for q in qs:
            if q.position == int(ref):
                return q
    for q in qs:
        if q.text.casefold() == ref.casefold():
            return q
    raise NotFound(f"question '{ref}' not found: see `crm form question list` (a question is named by its number or text)")


def edit_question(
    session, *, store_id: int, ref: str, text: str | None = None, choices: list[str] | None = None,
    required: bool | None = None, retention_days: str | None = None,
) -> QuestionInfo:
    """Change a question's text, choices, required flag or answer retention ('none' clears it).
    Its kind stays (answers already given keep their meaning); answers already given are kept."""
    q = get_question(session, store_id, ref)
    if text is not None:
        new = _question_text(text)
        _no_duplicate(session, store_id, new, other_than=q.id)
        q.text = new
    if choices:
        parsed = _choices(q.kind, choices)
        q.choices_json = json.dumps([{"value": c.value, "tag": c.tag} for c in parsed], ensure_ascii=False)
    if required is not None:
        q.required = required
    if retention_days is not None:
        if retention_days.strip().lower() == "none":
            q.retention_days = None
        else:
            try:
                days = int(retention_days)
            except ValueError:
                days = 0
            if not 1 <= days <= 36_500:
                raise InvalidInput(f"--retention-days must be 1 to 36500 days or 'none', got '{retention_days}'")
            q.retention_days = days
    session.add(q)
    session.flush()
    return _question_info(q)


def remove_question(session, *, store_id: int, ref: str) -> QuestionRemoved:
    """Delete a question and every answer given to it; later questions move up one number.
    Tags members received from its choices stay (they are the members' tags now)."""
    from sqlalchemy import delete

    from crm_cli.db.models import MemberAnswer

    q = get_question(session, store_id, ref)
    gone = session.execute(delete(MemberAnswer).where(col(MemberAnswer.question_id) == q.id)).rowcount or 0
    number, text = q.position, q.text
    session.delete(q)
    session.flush()
    for n, other in enumerate(questions(session, store_id), 1):
        if other.position != n:
            other.position = n
            session.add(other)
    session.flush()
    return QuestionRemoved(number=number, text=text, answers_deleted=int(gone))


def count_answers(session, *, store_id: int, ref: str) -> int:
    from crm_cli.db.models import MemberAnswer

    q = get_question(session, store_id, ref)
    return int(session.exec(select(func.count()).select_from(MemberAnswer).where(MemberAnswer.question_id == q.id)).one())


def _question_info(q: FormQuestion) -> QuestionInfo:
    return QuestionInfo(
        number=q.position, text=q.text, kind=q.kind, required=q.required, choices=question_choices(q),
        retention_days=q.retention_days,
    )


def questions(session, store_id: int) -> list[FormQuestion]:
    return list(
        session.exec(select(FormQuestion).where(col(FormQuestion.store_id) == store_id).order_by(col(FormQuestion.position))).all()
    )


def list_questions(session, *, store_id: int) -> list[QuestionInfo]:
    return [_question_info(q) for q in questions(session, store_id)]


# ---------------------------------------------------------------- show, link


def _store(session, store_id: int) -> Store:
    from crm_cli.services.common import get_store

    return get_store(session, store_id)


def sign_up_url(store: Store) -> str:
    return f"{store.link_base.rstrip('/')}/m/{store.slug}"


def show_form(session, *, store_id: int) -> FormInfo:
    t = current_terms(session, store_id)
    return FormInfo(
        terms_version=t.version if t else None,
        terms_updated_at=t.created_at if t else None,
        terms=t.text if t else None,
        questions=list_questions(session, store_id=store_id),
        sign_up_link=sign_up_url(_store(session, store_id)),
    )


def sign_up_link(session, *, store_id: int) -> LinkInfo:
    t = current_terms(session, store_id)
    n = session.exec(select(func.count()).select_from(FormQuestion).where(FormQuestion.store_id == store_id)).one()
    return LinkInfo(link=sign_up_url(_store(session, store_id)), terms_version=t.version if t else None, questions=int(n))


# ---------------------------------------------------------------- answers


@dataclass(frozen=True)
class CheckedAnswer:
    question_id: int
    values: list[str]  # one value; several for a multi question
    tags: list[str]


def parse_answer_date(raw: str, question: str = "date") -> date:
    from crm_cli.domain import member_fields

    day = member_fields.parse_date(raw, f"answer to '{question}'")
    if day is None:
        raise InvalidInput(f"the answer to '{question}' is empty")
    return day


def check_answers(session, *, store_id: int, answers: list[str]) -> list[CheckedAnswer]:
    """Validate ``QUESTION=VALUE`` pairs against the form.

    QUESTION is the question text (case-insensitive) or its number from `crm form show`.
    Choice values must be one of the question's choices (case-insensitive); a multi
    answer is comma-separated; a date answer is yyyy-mm-dd or dd/mm/yyyy (BE years
    accepted). Every required question must be answered.
    """
    qs = questions(session, store_id)
    by_text = {q.text.casefold(): q for q in qs}
    by_num = {str(q.position): q for q in qs}
    given: dict[int, tuple[FormQuestion, str]] = {}
    for raw in answers or []:
        if "=" not in raw:
            raise InvalidInput(f"answer '{raw}' must be QUESTION=VALUE (see `crm form show` for the questions)")
        key, value = raw.split("=", 1)
        key, value = " ".join(key.split()), value.strip()
        q = by_num.get(key) or by_text.get(key.casefold())
        if q is None:
            raise InvalidInput(f"the form has no question '{key}': see `crm form show`")
        if q.id in given:
            raise InvalidInput(f"question '{q.text}' is answered twice")
        if not value:
            raise InvalidInput(f"the answer to '{q.text}' is empty")
        given[q.id] = (q, value)
    missing = [q.text for q in qs if q.required and q.id not in given]
    if missing:
        raise InvalidInput("required question(s) not answered: " + "; ".join(f"'{m}'" for m in missing)
                           + " (pass --answer QUESTION=VALUE)")
    out: list[CheckedAnswer] = []
    for q in qs:
        if q.id not in given:
            continue
        _, value = given[q.id]
        if q.kind == "text":
            from crm_cli.domain import member_fields

            out.append(CheckedAnswer(q.id, [member_fields.text_answer(value, q.text)], []))
        elif q.kind == "date":
            out.append(CheckedAnswer(q.id, [parse_answer_date(value, q.text).isoformat()], []))
        else:
            choices = {c.value.casefold(): c for c in question_choices(q)}
            picked = [v.strip() for v in value.split(",")] if q.kind == "multi" else [value]
            if any(not p for p in picked):
                raise InvalidInput(f"empty value in the answer to '{q.text}'")
            vals, tags = [], []
            for p in picked:
                c = choices.get(p.casefold())
                if c is None:
                    allowed = ", ".join(c.value for c in question_choices(q))
                    raise InvalidInput(f"'{p}' is not a choice of '{q.text}': choose from {allowed}")
                if c.value in vals:
                    raise InvalidInput(f"'{c.value}' is chosen twice in the answer to '{q.text}'")
                vals.append(c.value)
                if c.tag and c.tag not in tags:
                    tags.append(c.tag)
            out.append(CheckedAnswer(q.id, vals, tags))
    return out
