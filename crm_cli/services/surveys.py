"""Surveys: questions sent to a segment on LINE, answered on the member pages, with a PDPA
notice and a retention period after which the answers are deleted.

A survey holds its questions (``text``: free text; ``choice``: one of its values, a value
may carry a tag that the person who picks it receives as an *active* tag), the notice
shown before answering (what is kept and for how long) and ``retention_days``.

- ``send`` reaches a segment through the campaign sender: a campaign named
  ``survey:NAME:SEGMENT`` with one push per reachable follower carrying the link
  ``{store base URL}/m/{store}/survey/{id}``, so the retry-key discipline (nothing sent
  twice, resumable) is the campaigns' own; the campaign shows in `crm campaign list`.
- ``answer`` (the member page) stores one answer set per person (the LINE follower, with
  the member linked to it, if any); a second answer set is refused.
- ``purge_expired`` (maintenance job ``surveys``) deletes answers older than their
  survey's retention period.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterator

from sqlalchemy import delete, func, select
from sqlmodel import col

from crm_cli.db.models import Campaign, LineFollower, Member, Store, Survey, SurveyAnswer
from crm_cli.domain.errors import Conflict, InvalidInput, NotFound
from crm_cli.services import named
from crm_cli.services.forms import Choice  # a choice and the tag it gives, as on the sign-up form

NAME_MAX = 80
KINDS = ("text", "choice")
MAX_QUESTIONS = 20
MAX_CHOICES = 20
QUESTION_MAX = 300
NOTICE_MAX = 20_000
RETENTION_MAX = 3650
LINK_FIELD = "{link}"
DEFAULT_TEXT = "Hi {display_name}! Please answer our survey \"{survey}\": {link}"


# ---------------------------------------------------------------- questions


@dataclass(frozen=True)
class Question:
    number: int
    text: str
    kind: str  # text | choice
    required: bool
    choices: list[Choice] = field(default_factory=list)


@dataclass(frozen=True)
class SendPlan:
    survey: str
    campaign: str
    link: str
    resumed: bool


def _question_text(raw: Any, where: str) -> str:
    from crm_cli.domain import member_fields

    if not isinstance(raw, str):
        raise InvalidInput(f"{where}: the question text must be text")
    t = member_fields.clean_text(raw, "question")
    if not t:
        raise InvalidInput(f"{where}: the question text is empty")
    if len(t) > QUESTION_MAX:
        raise InvalidInput(f"{where}: the question is {len(t)} characters long (at most {QUESTION_MAX})")
    return t


def _choice(raw: Any, where: str) -> Choice:
    """``"VALUE"``, ``"VALUE:TAG"`` or ``{"value": ..., "tag": ...}``."""
    from crm_cli.domain import member_fields
    from crm_cli.services.forms import normalize_tag, parse_choice

    if isinstance(raw, dict):
        unknown = set(raw) - {"value", "tag"}
        if unknown:
            raise InvalidInput(f"{where}: unknown choice key(s): {', '.join(sorted(unknown))}")
        value, tag = raw.get("value"), raw.get("tag")
        if not isinstance(value, str) or (tag is not None and not isinstance(tag, str)):
            raise InvalidInput(f"{where}: a choice needs a text 'value' (and an optional text 'tag')")
        c = Choice(value=value.strip(), tag=normalize_tag(tag) if tag and tag.strip() else None)
    elif isinstance(raw, str):
        p = parse_choice(raw)
        c = Choice(value=p.value, tag=p.tag)
    else:
        raise InvalidInput(f"{where}: a choice is 'VALUE', 'VALUE:TAG' or {{\"value\": ..., \"tag\": ...}}")
    value = member_fields.clean_text(c.value, "choice")
    if not value or len(value) > 120:
        raise InvalidInput(f"{where}: a choice value must be 1 to 120 characters")
    return Choice(value=value, tag=c.tag)


def build_questions(specs: list[dict]) -> list[Question]:
    """Checked questions from plain dicts: ``text``, ``kind`` (text | choice; choice when
    choices are given), ``choices`` and ``required`` (default: choice questions yes, text no)."""
    if not isinstance(specs, list) or not specs:
        raise InvalidInput("a survey needs at least one question: --question TEXT or --questions FILE.json")
    if len(specs) > MAX_QUESTIONS:
        raise InvalidInput(f"a survey has at most {MAX_QUESTIONS} questions, not {len(specs)}")
    out = []
    for n, spec in enumerate(specs, 1):
        where = f"question {n}"
        if not isinstance(spec, dict):
            raise InvalidInput(f"{where}: must be an object with 'text' (and 'kind', 'choices', 'required')")
        unknown = set(spec) - {"text", "kind", "choices", "required"}
        if unknown:
            raise InvalidInput(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
        text = _question_text(spec.get("text"), where)
        raw_choices = spec.get("choices") or []
        if not isinstance(raw_choices, list):
            raise InvalidInput(f"{where}: 'choices' must be a list")
        kind = spec.get("kind") or ("choice" if raw_choices else "text")
        if kind not in KINDS:
            raise InvalidInput(f"{where}: unknown kind '{kind}': use text or choice")
        choices = [_choice(c, where) for c in raw_choices]
        if kind == "text" and choices:
            raise InvalidInput(f"{where}: a text question has no choices")
        if kind == "choice":
            if len(choices) < 2:
                raise InvalidInput(f"{where}: a choice question needs at least two choices")
            if len(choices) > MAX_CHOICES:
                raise InvalidInput(f"{where}: at most {MAX_CHOICES} choices")
            seen = set()
            for c in choices:
                if c.value.casefold() in seen:
                    raise InvalidInput(f"{where}: choice '{c.value}' is given twice")
                seen.add(c.value.casefold())
        required = spec.get("required")
        if required is None:
            required = kind == "choice"
        if not isinstance(required, bool):
            raise InvalidInput(f"{where}: 'required' must be true or false")
        out.append(Question(number=n, text=text, kind=kind, required=required, choices=choices))
    return out


def parse_questions_file(raw: str) -> list[dict]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"the questions file is not JSON: {exc}") from None
    if isinstance(data, dict) and "questions" in data:
        data = data["questions"]
    if not isinstance(data, list):
        raise InvalidInput("the questions file must hold a JSON list of questions (or {\"questions\": [...]})")
    return data


def questions_from_options(texts: list[str], choices: list[str]) -> list[dict]:
    """``--question TEXT`` (repeat) with ``--choice N=VALUE[:TAG]`` for question number N."""
    specs: list[dict] = [{"text": t} for t in texts]
    for raw in choices:
        num, sep, rest = (raw or "").partition("=")
        if not sep or not num.strip().isdigit():
            raise InvalidInput(f"--choice '{raw}': write NUMBER=VALUE or NUMBER=VALUE:TAG (NUMBER: the question's position)")
        n = int(num)
        if not 1 <= n <= len(specs):
            raise InvalidInput(f"--choice '{raw}': there is no question {n} (give {len(specs)} --question)")
        specs[n - 1].setdefault("choices", []).append(rest)
    return specs


def _load_questions(s: Survey) -> list[Question]:
    out = []
    for n, q in enumerate(json.loads(s.questions), 1):
        out.append(Question(number=n, text=q["text"], kind=q["kind"], required=bool(q.get("required")),
                            choices=[Choice(c["value"], c.get("tag")) for c in q.get("choices") or []]))
    return out


def _dump_questions(qs: list[Question]) -> str:
    return json.dumps([{"text": q.text, "kind": q.kind, "required": q.required,
                        "choices": [{"value": c.value, "tag": c.tag} for c in q.choices]} for q in qs],
                      ensure_ascii=False)


# ---------------------------------------------------------------- rows


@dataclass(frozen=True)
class SurveyRow:
    name: str
    id: int
    questions: int
    answers: int
    retention_days: int
    link: str
    created_at: datetime


@dataclass(frozen=True)
class SurveyDetail:
    name: str
    id: int
    link: str
    retention_days: int
    notice: str
    questions: list[Question]
    answers: int
    sends: list[str]
    created_at: datetime


def _name(raw: str) -> str:
    n = " ".join((raw or "").split())
    if not n:
        raise InvalidInput("a survey needs a name")
    if len(n) > NAME_MAX:
        raise InvalidInput(f"the survey name is too long (at most {NAME_MAX} characters)")
    if ":" in n:
        raise InvalidInput("a survey name must not contain ':'")
    return n


def get(session, store_id: int, name: str) -> Survey:
    return named.get(session, Survey, store_id, _name(name), missing=f"survey '{name}' not found: see `crm survey list`")


def link(store: Store, survey_id: int) -> str:
    from urllib.parse import quote

    return f"{store.link_base.rstrip('/')}/m/{quote(store.slug)}/survey/{survey_id}"


def _answer_counts(session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(session.execute(select(col(SurveyAnswer.survey_id), func.count()).where(col(SurveyAnswer.survey_id).in_(ids))
                                .group_by(col(SurveyAnswer.survey_id))).all())


def _sends(session, s: Survey) -> list[str]:
    prefix = f"survey:{s.name}:"
    rows = session.execute(select(col(Campaign.name), col(Campaign.status)).where(
        col(Campaign.store_id) == s.store_id, col(Campaign.name).like(prefix.replace("%", r"\%").replace("_", r"\_") + "%", escape="\\"))
        .order_by(col(Campaign.created_at), col(Campaign.id))).all()
    return [f"{n} ({st})" for n, st in rows]


def detail(session, s: Survey) -> SurveyDetail:
    store = session.get(Store, s.store_id)
    return SurveyDetail(name=s.name, id=s.id, link=link(store, s.id), retention_days=s.retention_days, notice=s.notice,
                        questions=_load_questions(s), answers=_answer_counts(session, [s.id]).get(s.id, 0),
                        sends=_sends(session, s), created_at=s.created_at)


# ---------------------------------------------------------------- create, list, show


def create(session, *, store_id: int, name: str, questions: list[dict], retention_days: int, notice: str,
           now: datetime) -> SurveyDetail:
    from crm_cli.domain import member_fields

    n = _name(name)
    qs = build_questions(questions)
    if isinstance(retention_days, bool) or not isinstance(retention_days, int) or not 1 <= retention_days <= RETENTION_MAX:
        raise InvalidInput(f"--retention-days must be 1 to {RETENTION_MAX}")
    body = member_fields.clean_text(notice or "", "notice", multiline=True)
    if not body:
        raise InvalidInput("the notice file is empty: write what the answers are used for, what is kept and for how long")
    if len(body) > NOTICE_MAX:
        raise InvalidInput(f"the notice is {len(body):,} characters long (at most {NOTICE_MAX:,})")
    if session.execute(select(col(Survey.id)).where(col(Survey.store_id) == store_id, col(Survey.name) == n)).first():
        raise Conflict(f"survey '{n}' already exists")
    s = Survey(store_id=store_id, name=n, questions=_dump_questions(qs), notice=body, retention_days=retention_days,
               created_at=now)
    session.add(s)
    session.flush()
    return detail(session, s)


def list_surveys(session, *, store_id: int) -> list[SurveyRow]:
    rows = session.execute(select(Survey).where(col(Survey.store_id) == store_id).order_by(col(Survey.name))).scalars().all()
    counts = _answer_counts(session, [s.id for s in rows])
    store = session.get(Store, store_id)
    return [SurveyRow(name=s.name, id=s.id, questions=len(json.loads(s.questions)), answers=counts.get(s.id, 0),
                      retention_days=s.retention_days, link=link(store, s.id), created_at=s.created_at) for s in rows]


def show(session, *, store_id: int, name: str) -> SurveyDetail:
    return detail(session, get(session, store_id, name))


# ---------------------------------------------------------------- send (through the campaign sender)


def campaign_name(survey: str, segment: str) -> str:
    return f"survey:{survey}:{segment}"


def plan_send(session, *, store_id: int, name: str, segment: str, text: str | None, now: datetime) -> SendPlan:
    """The campaign that carries the survey's link to the segment: created as a draft of
    personalized pushes, or the one already there (resumed while it is not finished)."""
    from crm_cli.services import campaigns, segments

    s = get(session, store_id, name)
    seg = segments.get(session, store_id, segment)
    url = link(session.get(Store, store_id), s.id)
    cname = campaign_name(s.name, seg.name)
    if len(cname) > campaigns.NAME_MAX:
        cname = f"survey:{s.id}:{seg.id}"
    c = session.execute(select(Campaign).where(col(Campaign.store_id) == store_id, col(Campaign.name) == cname)).scalars().first()
    if c is not None:
        if c.status in ("sent", "cancelled"):
            raise Conflict(f"survey '{s.name}' was already sent to segment '{seg.name}' (campaign '{cname}', {c.status}): "
                           f"nobody gets it twice; see `crm campaign stats {cname}`")
        return SendPlan(survey=s.name, campaign=cname, link=url, resumed=True)
    template = text or DEFAULT_TEXT
    if LINK_FIELD not in template:
        template = template.rstrip() + " " + LINK_FIELD
    body = template.replace("{survey}", s.name).replace(LINK_FIELD, url)
    campaigns.create(session, store_id=store_id, name=cname, segment=seg.name, everyone=False,
                     messages=[campaigns.text_message(body)], promo=None, at=None, now=now)
    row = campaigns.get(session, store_id, cname)
    row.personalized = True  # one push per person, even when the text names nobody
    session.add(row)
    session.flush()
    return SendPlan(survey=s.name, campaign=cname, link=url, resumed=False)


# ---------------------------------------------------------------- answering (member page)


@dataclass(frozen=True)
class SurveyPage:
    id: int
    name: str
    notice: str
    retention_days: int
    questions: list[Question]
    answered_at: datetime | None  # this person already answered


@dataclass(frozen=True)
class Answered:
    survey: str
    answered_at: datetime
    tags: list[str]


def _by_id(session, store_id: int, survey_id: int) -> Survey:
    s = session.get(Survey, survey_id)
    if s is None or s.store_id != store_id:
        raise NotFound("survey not found: the link may be old or mistyped")
    return s


def _existing(session, s: Survey, follower_id: int | None, member_id: int | None) -> SurveyAnswer | None:
    conds = []
    if follower_id is not None:
        conds.append(SurveyAnswer.follower_id == follower_id)
    if member_id is not None:
        conds.append(SurveyAnswer.member_id == member_id)
    if not conds:
        return None
    from sqlalchemy import or_

    return session.execute(select(SurveyAnswer).where(col(SurveyAnswer.survey_id) == s.id, or_(*conds))).scalars().first()


def page(session, *, store_id: int, survey_id: int, user_id: str) -> SurveyPage:
    from crm_cli.services import followers, line_accounts

    s = _by_id(session, store_id, survey_id)
    f = followers.find(session, store_id, user_id)
    m = line_accounts.member_for_line(session, store_id=store_id, user_id=user_id)
    prev = _existing(session, s, f.id if f else None, m.id if m else None)
    return SurveyPage(id=s.id, name=s.name, notice=s.notice, retention_days=s.retention_days,
                      questions=_load_questions(s), answered_at=prev.created_at if prev else None)


def check_answers(questions: list[Question], raw: dict[int, str | None]) -> tuple[list[str | None], dict[int, str]]:
    """The answers in question order (None: not answered) and an error per question number."""
    from crm_cli.domain import member_fields

    values: list[str | None] = []
    errors: dict[int, str] = {}
    for q in questions:
        given = raw.get(q.number)
        given = given if isinstance(given, str) else None
        value: str | None = None
        if given is not None and given.strip():
            if q.kind == "choice":
                match = [c.value for c in q.choices if c.value == given.strip()]
                if not match:
                    errors[q.number] = f"'{member_fields.show(given)}' is not one of the choices of '{q.text}'"
                else:
                    value = match[0]
            else:
                try:
                    value = member_fields.text_answer(given, q.text)
                except InvalidInput as exc:
                    errors[q.number] = exc.message
        if value is None and q.number not in errors and q.required:
            errors[q.number] = f"'{q.text}' needs an answer"
        values.append(value)
    return values, errors


def answer(session, *, store_id: int, survey_id: int, user_id: str, raw: dict[int, str | None], now: datetime) -> Answered:
    """Store one person's answers (once) and give them the tags of the choices they picked."""
    from crm_cli.db import dialect
    from crm_cli.services import followers, line_accounts
    from crm_cli.services.members import _add_tags

    s = _by_id(session, store_id, survey_id)
    if s.closed_at is not None:
        raise Conflict(f"survey '{s.name}' is closed")
    qs = _load_questions(s)
    values, errors = check_answers(qs, raw)
    if errors:
        first = min(errors)
        raise InvalidInput(errors[first])
    f, _ = followers.get_or_create(session, store_id=store_id, user_id=followers.check_user_id(user_id), now=now,
                                   source="login")
    m = line_accounts.member_for_line(session, store_id=store_id, user_id=f.user_id)
    prev = _existing(session, s, f.id, m.id if m else None)
    if prev is not None:
        raise Conflict(f"you already answered this survey on {_day(prev.created_at)}: one answer per person")
    ins = dialect.insert(session, SurveyAnswer)
    res = session.execute(ins.values(survey_id=s.id, follower_id=f.id, member_id=m.id if m else None,
                                     answers=json.dumps(values, ensure_ascii=False), created_at=now)
                          .on_conflict_do_nothing(index_elements=["survey_id", "follower_id"])
                          .returning(SurveyAnswer.id))
    if res.first() is None:  # the same person's other tab got there first
        raise Conflict("you already answered this survey: one answer per person")
    tags = [c.tag for q, v in zip(qs, values) if q.kind == "choice" and v is not None
            for c in q.choices if c.value == v and c.tag]
    tags = list(dict.fromkeys(tags))
    if tags:
        if m is not None:
            _add_tags(session, m.id, tags, kind="active")
        else:
            followers.add_tags(session, f, tags, kind="active", now=now)
    session.flush()
    return Answered(survey=s.name, answered_at=now, tags=tags)


def _day(at: datetime) -> str:
    from crm_cli.domain.timeutil import bkk_date

    return bkk_date(at).isoformat()


# ---------------------------------------------------------------- results and export


@dataclass(frozen=True)
class ChoiceCount:
    question: int
    text: str
    choice: str
    tag: str | None
    count: int


@dataclass(frozen=True)
class TextAnswer:
    question: int
    text: str
    answer: str
    answered_at: datetime


@dataclass(frozen=True)
class SurveyResults:
    survey: str
    answers: int
    retention_days: int
    oldest_answer_at: datetime | None
    choices: list[ChoiceCount]
    texts: list[TextAnswer]


def _answer_rows(session, s: Survey) -> Iterator[Any]:
    q = (select(col(SurveyAnswer.answers), col(SurveyAnswer.created_at), col(LineFollower.user_id),
                col(LineFollower.display_name), col(Member.phone), col(Member.name))
         .select_from(SurveyAnswer)
         .outerjoin(LineFollower, col(LineFollower.id) == col(SurveyAnswer.follower_id))
         .outerjoin(Member, col(Member.id) == col(SurveyAnswer.member_id))
         .where(col(SurveyAnswer.survey_id) == s.id)
         .order_by(col(SurveyAnswer.created_at), col(SurveyAnswer.id)))
    return session.execute(q.execution_options(yield_per=1000))


def results(session, *, store_id: int, name: str) -> SurveyResults:
    s = get(session, store_id, name)
    qs = _load_questions(s)
    counts = {(q.number, c.value): 0 for q in qs for c in q.choices}
    unanswered = {q.number: 0 for q in qs if q.kind == "choice"}
    texts: list[TextAnswer] = []
    total = 0
    oldest = None
    for r in _answer_rows(session, s):
        total += 1
        oldest = r.created_at if oldest is None else min(oldest, r.created_at)
        values = json.loads(r.answers)
        for q, v in zip(qs, values + [None] * (len(qs) - len(values))):
            if q.kind == "choice":
                if v is None:
                    unanswered[q.number] += 1
                elif (q.number, v) in counts:
                    counts[(q.number, v)] += 1
            elif v is not None:
                texts.append(TextAnswer(question=q.number, text=q.text, answer=v, answered_at=r.created_at))
    choices = []
    for q in qs:
        for c in q.choices:
            choices.append(ChoiceCount(question=q.number, text=q.text, choice=c.value, tag=c.tag,
                                       count=counts[(q.number, c.value)]))
        if q.kind == "choice" and unanswered[q.number]:
            choices.append(ChoiceCount(question=q.number, text=q.text, choice="(no answer)", tag=None,
                                       count=unanswered[q.number]))
    texts.sort(key=lambda t: (t.question, t.answered_at))
    return SurveyResults(survey=s.name, answers=total, retention_days=s.retention_days, oldest_answer_at=oldest,
                         choices=choices, texts=texts)


@dataclass(frozen=True)
class ExportResult:
    survey: str
    file: str
    rows: int


def export(session, *, store_id: int, name: str, path) -> ExportResult:
    from crm_cli.fileio.spreadsheet import write_table

    s = get(session, store_id, name)
    qs = _load_questions(s)
    columns = ["answered_at", "user_id", "display_name", "phone", "name"] + [f"q{q.number} {q.text}"[:120] for q in qs]

    def data():
        for r in _answer_rows(session, s):
            values = json.loads(r.answers)
            values += [None] * (len(qs) - len(values))
            yield [r.created_at, r.user_id, r.display_name, r.phone, r.name, *values[:len(qs)]]

    try:
        n = write_table(path, columns, data(), {"answered_at": "datetime"}, sheet="answers")
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return ExportResult(survey=s.name, file=str(path), rows=n)


# ---------------------------------------------------------------- retention (maintenance)


@dataclass(frozen=True)
class Purged:
    deleted: int
    surveys: dict[str, int]


def purge_expired(session, *, now: datetime, store_id: int | None = None) -> Purged:
    """Delete the answers given more than their survey's ``retention_days`` before ``now``."""
    q = (select(col(Survey.id), col(Survey.name), col(Survey.retention_days), col(Store.slug)).join(Store, col(Store.id) == col(Survey.store_id))
         .where(col(Store.purged_at).is_(None)).order_by(col(Store.slug), col(Survey.name)))
    if store_id is not None:
        q = q.where(col(Survey.store_id) == store_id)
    per: dict[str, int] = {}
    total = 0
    for sid, name, days, slug in session.execute(q).all():
        cut = now - timedelta(days=days)
        n = int(session.execute(delete(SurveyAnswer).where(SurveyAnswer.survey_id == sid, col(SurveyAnswer.created_at) < cut)
                                .execution_options(synchronize_session=False)).rowcount or 0)
        if n:
            per[f"{slug}/{name}"] = n
            total += n
    return Purged(deleted=total, surveys=per)


def forget_member(session, *, member_id: int) -> int:
    """Erasure: the member's survey answers go with the rest of their personal data."""
    return int(session.execute(delete(SurveyAnswer).where(col(SurveyAnswer.member_id) == member_id)
                               .execution_options(synchronize_session=False)).rowcount or 0)

