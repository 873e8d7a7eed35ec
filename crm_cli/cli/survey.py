"""`crm survey`: questions sent to a segment on LINE, answered on the member pages, with a
PDPA notice and a retention period after which the answers are deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import out_option, segment_option, whole
from crm_cli.cli.run import current_store_id, export, listing, read

app = typer.Typer(help="Surveys with a PDPA notice and retention: create, send to a segment, results, export.",
                  no_args_is_help=True, rich_markup_mode=None)

NameArg = Annotated[str, typer.Argument(help="Survey name.")]
LIST_COLUMNS = ["name", "id", "questions", "answers", "retention_days", "link", "created_at"]
SEND_COLUMNS = ["campaign", "status", "recipients", "skipped", "requests_sent", "accepted", "failed", "pending", "already_accepted", "note"]


def _show_doc(res):
    """A survey as one JSON object, or its summary and its questions as two tables."""
    from dataclasses import asdict

    from crm_cli.cli.render import Document, Section

    summary = {"name": res.name, "id": res.id, "link": res.link, "retention_days": res.retention_days,
               "answers": res.answers, "sends": "; ".join(res.sends) or "-", "created_at": res.created_at,
               "notice": res.notice}
    questions = [{"number": q.number, "text": q.text, "kind": q.kind, "required": q.required,
                  "choices": ", ".join(c.value + (f" (tag {c.tag})" if c.tag else "") for c in q.choices)}
                 for q in res.questions]
    return Document([Section("survey", summary), Section("questions", questions,
                                                         ["number", "text", "kind", "required", "choices"])],
                    whole=asdict(res))


@app.command("create")
def survey_create(
    ctx: typer.Context,
    name: NameArg,
    notice: Annotated[Path, typer.Option("--notice", help="Text file: the PDPA notice shown before answering (what is kept, why, for how long).")],
    retention_days: Annotated[int, typer.Option("--retention-days", parser=whole("--retention-days", 1, 3650), metavar="DAYS", help="Answers are deleted this many days after they were given (maintenance job 'surveys').")],
    question: Annotated[Optional[list[str]], typer.Option("--question", help="A question (repeat); a text question unless --choice gives it choices.")] = None,
    choice: Annotated[Optional[list[str]], typer.Option("--choice", metavar="N=VALUE[:TAG]", help="A choice of question N (its position among --question); the TAG becomes an active tag of whoever picks it.")] = None,
    questions: Annotated[Optional[Path], typer.Option("--questions", help="JSON file: a list of {\"text\", \"kind\": text|choice, \"choices\": [\"VALUE\" or \"VALUE:TAG\"], \"required\"} (instead of --question).")] = None,
) -> None:
    """Create a survey. Choice questions must be answered (unless "required": false in the
    file); text questions are optional (unless "required": true).

    Example: crm survey create taste --notice notice.txt --retention-days 90 --question "Favourite drink?" --choice 1=coffee:coffee-lover --choice 1=tea --question "Anything else?"
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.fileio.text import read_text
    from crm_cli.services import surveys as svc

    if questions is not None and (question or choice):
        raise InvalidInput("give the questions either with --question/--choice or in --questions FILE, not both")
    if questions is not None:
        specs = svc.parse_questions_file(read_text(questions, what="--questions file"))
    else:
        if choice and not question:
            raise InvalidInput("--choice N=VALUE goes with --question TEXT")
        specs = svc.questions_from_options(list(question or []), list(choice or []))
    text = read_text(notice, what="notice file")
    st = state(ctx)
    with st.transaction() as tx:
        res = svc.create(tx.session, store_id=current_store_id(tx), name=name, questions=specs, retention_days=retention_days,
                         notice=text, now=st.now())
        tx.audit(f"created survey '{res.name}' ({len(res.questions)} questions, answers kept {res.retention_days} days)")
    st.render(_show_doc(res))


listing(app, "surveys:list_surveys", columns=LIST_COLUMNS,
        help="Surveys: questions, answers kept now, retention and the answering link.\n\nExample: crm survey list")


@app.command("show")
def survey_show(ctx: typer.Context, name: NameArg) -> None:
    """A survey: link, notice, retention, questions (with choice tags) and its sends.

    Example: crm survey show taste
    """
    from crm_cli.services import surveys as svc

    st, res = read(ctx, svc.show, name=name)
    st.render(_show_doc(res))


@app.command("send")
def survey_send(
    ctx: typer.Context,
    name: NameArg,
    segment: Annotated[str, segment_option("Send the survey's link to the reachable followers of this segment.")],
    text: Annotated[Optional[str], typer.Option("--text", help="The message; {link} is the survey's link (added at the end when missing), {display_name} the person's LINE name, {survey} its name.")] = None,
    partial: Annotated[bool, typer.Option("--partial", help="When the monthly quota is short, send to as many as it allows.")] = False,
) -> None:
    """Push the survey's link to each reachable follower of a segment, through the campaign
    sender (campaign 'survey:NAME:SEGMENT': retry keys stored before each request, nothing
    sent twice; run it again to resume after an error).

    Example: crm survey send taste --segment coffee-lovers
    """
    from crm_cli.db.uow import unit_of_work
    from crm_cli.services import campaigns
    from crm_cli.services import surveys as svc
    from crm_cli.services.audit import record

    st = state(ctx)
    with st.transaction() as tx:
        plan = svc.plan_send(tx.session, store_id=current_store_id(tx), name=name, segment=segment, text=text, now=st.now())
        if not plan.resumed:
            tx.audit(f"survey '{plan.survey}' to segment '{segment}' as campaign '{plan.campaign}'")
        store_id = current_store_id(tx)
    if plan.resumed:
        st.info(f"resuming campaign '{plan.campaign}'")
    from crm_cli.cli.campaign import _client

    with st.reading() as tx:
        api = _client(tx)
    engine = st.engine()
    with api, st.progress(None, f"sending survey {plan.survey}") as bar:
        res = campaigns.send(engine, store_id=store_id, name=plan.campaign, api=api, clock=st.now, partial=partial,
                             progress=bar)
    with unit_of_work(engine, write=True) as session:
        record(session, store_id=store_id, actor=st.actor_name(), command=st.command,
               summary=f"sent survey '{plan.survey}' ({plan.campaign}): {res.accepted} accepted, {res.failed} failed",
               now=st.now())
    st.info(f"link: {plan.link}")
    st.render(res, columns=SEND_COLUMNS)


@app.command("results")
def survey_results(ctx: typer.Context, name: NameArg) -> None:
    """Answers so far: the count of each choice and the text answers.

    Example: crm survey results taste
    """
    from crm_cli.cli.render import Document, Section
    from crm_cli.services import surveys as svc

    st, res = read(ctx, svc.results, name=name)
    summary = {"survey": res.survey, "answers": res.answers, "retention_days": res.retention_days,
               "oldest_answer_at": res.oldest_answer_at}
    st.render(Document([Section("summary", summary),
                        Section("choices", res.choices, ["question", "text", "choice", "tag", "count"]),
                        Section("text answers", res.texts, ["question", "text", "answer", "answered_at"])],
                       whole=res))


@app.command("export")
def survey_export(ctx: typer.Context, name: NameArg,
                  out: Annotated[Path, out_option(".csv", ".xlsx", help="Write one row per answer set to FILE (.csv or .xlsx).")]) -> None:
    """Write every answer set (when, who, each answer) to CSV or XLSX.

    Example: crm survey export taste --out taste.xlsx
    """
    from crm_cli.services import surveys as svc

    export(ctx, svc.export, name=name, path=out, rows="answer set(s)")
