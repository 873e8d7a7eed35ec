"""The survey page ``/m/{store}/survey/{id}`` (the link `crm survey send` pushes): signed in
with LINE like the other member pages; GET shows the PDPA notice (what is kept and for
how long) and the questions, POST (with the CSRF token) stores the answers once per
person through ``services.surveys.answer``, the same rules as everywhere else."""

from __future__ import annotations

from fastapi import APIRouter, Request

from crm_cli.domain.errors import Conflict, InvalidInput
from crm_cli.web.i18n import translator
from crm_cli.web.pages import Page, page, signed_in

router = APIRouter()


def _words(pg: Page):
    return translator(pg.lang, "survey")  # text/survey.toml


def _survey_id(raw: str) -> int:
    from crm_cli.domain.errors import NotFound

    if not raw.isdigit() or len(raw) > 12:
        raise NotFound("survey not found: the link may be old or mistyped")
    return int(raw)


@router.get("/m/{store}/survey/{survey_id}")
@page
def survey_page(store: str, survey_id: str, request: Request):
    from crm_cli.services import surveys

    pg = Page(request, store)
    sid = _survey_id(survey_id)
    who = pg.who()
    if who is None:
        return pg.login()
    st = pg.state("serve survey")
    with st.reading() as tx:
        pg.store_name = tx.store.name
        view = surveys.page(tx.session, store_id=tx.store.id, survey_id=sid, user_id=who["sub"])
    return pg.html("survey.html", survey=view, errors={}, given={}, done=False, s=_words(pg))


@router.post("/m/{store}/survey/{survey_id}")
@page
async def survey_answer(store: str, survey_id: str, request: Request):
    pg = Page(request, store)
    sid = _survey_id(survey_id)
    return await signed_in(pg, _answer, sid)


def _answer(pg: Page, sid: int, form):
    from crm_cli.services import surveys

    user_id = pg.user()["sub"]
    st = pg.state("survey answer")
    given = {k: (v if isinstance(v, str) else "") for k, v in form.items() if k.startswith("q_")}
    with st.reading() as tx:
        pg.store_name = tx.store.name
        view = surveys.page(tx.session, store_id=tx.store.id, survey_id=sid, user_id=user_id)
    if view.answered_at is not None:
        return pg.html("survey.html", status=409, survey=view, errors={}, given={}, done=False, s=_words(pg))
    raw: dict[int, str | None] = {q.number: given.get(f"q_{q.number}") for q in view.questions}
    _, errors = surveys.check_answers(view.questions, raw)
    if errors:  # every question at once, with the service's own words
        return pg.html("survey.html", status=422, survey=view, errors=errors, given=given, done=False, s=_words(pg))
    try:
        with st.transaction() as tx:
            res = surveys.answer(tx.session, store_id=tx.store.id, survey_id=sid, user_id=user_id, raw=raw, now=st.now())
            tx.audit(f"answered survey '{res.survey}' on the member page"
                     + (f" (active tags {', '.join(res.tags)})" if res.tags else ""))
    except Conflict as exc:
        with st.reading() as tx:
            view = surveys.page(tx.session, store_id=tx.store.id, survey_id=sid, user_id=user_id)
        said: dict = {} if view.answered_at is not None else {"form": exc.message}
        return pg.html("survey.html", status=409, survey=view, errors=said, given=given, done=False, s=_words(pg))
    except InvalidInput as exc:
        return pg.html("survey.html", status=422, survey=view, errors={"form": exc.message}, given=given, done=False,
                       s=_words(pg))
    return pg.html("survey.html", survey=view, errors={}, given={}, done=True, s=_words(pg))
