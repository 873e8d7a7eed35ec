"""crm form: terms and conditions (versioned), questions, sign-up link."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crm_cli.cli.context import state
from crm_cli.cli.options import PngOutOpt, QrOpt, whole
from crm_cli.cli.run import current_store_id, read, write

app = typer.Typer(help="Registration form: terms and conditions, questions, sign-up link.", no_args_is_help=True)
question_app = typer.Typer(help="Questions of the registration form.", no_args_is_help=True)
app.add_typer(question_app, name="question")

QUESTION_COLUMNS = ["number", "text", "kind", "required", "choices", "retention_days"]


@app.command("terms")
def form_terms(
    ctx: typer.Context,
    file: Annotated[Path, typer.Option("--file", help="Markdown/text file with the terms and conditions (privacy policy).")],
) -> None:
    """Set the terms and conditions members consent to; every change is a new version.

    Example: crm form terms --file TERMS.md
    """
    from crm_cli.fileio.text import read_text
    from crm_cli.services import forms

    text = read_text(file, what="terms file")
    st, info = write(ctx, forms.set_terms, text=text,
                     audit=lambda info: f"terms version {info.version}" + ("" if info.changed else " (unchanged)"))
    if not info.changed:
        st.info(f"terms unchanged: still version {info.version}")
    st.render(info)


@question_app.command("add")
def question_add(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The question as members see it.")],
    kind: Annotated[str, typer.Option("--kind", help="text | choice | multi | date.")],
    choice: Annotated[Optional[list[str]], typer.Option("--choice", help="A choice VALUE or VALUE:TAG (repeat); the tag is attached to members who pick it.")] = None,
    required: Annotated[bool, typer.Option("--required", help="Members must answer it to register.")] = False,
    retention_days: Annotated[Optional[int], typer.Option("--retention-days", parser=whole("--retention-days", 1, 36_500), metavar="DAYS", help="Delete answers this many days after they were given (maintenance job).")] = None,
) -> None:
    """Add a question to the registration form.

    Example: crm form question add "Occupation" --kind choice --choice "office worker:working-age" --choice student
    """
    from crm_cli.services import forms

    st = state(ctx)
    with st.transaction() as tx:
        q = forms.add_question(
            tx.session, store_id=current_store_id(tx), text=text, kind=kind, choices=choice or [], required=required,
            retention_days=retention_days, now=st.now(),
        )
        tx.audit(f"added {q.kind} question #{q.number}: {q.text}")
    st.render(q if st.fmt == "json" else _question_row(q))


@question_app.command("list")
def question_list(ctx: typer.Context) -> None:
    """List the questions of the registration form. Example: crm form question list --format json"""
    from crm_cli.services import forms

    st, rows = read(ctx, forms.list_questions)
    st.render(rows if st.fmt == "json" else [_question_row(q) for q in rows], columns=QUESTION_COLUMNS)


@question_app.command("edit")
def question_edit(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question's number (see `crm form question list`) or its text.")],
    text: Annotated[Optional[str], typer.Option("--text", help="New wording.")] = None,
    choice: Annotated[Optional[list[str]], typer.Option("--choice", help="Replace the choices: VALUE or VALUE:TAG (repeat, at least two).")] = None,
    required: Annotated[Optional[bool], typer.Option("--required/--optional", help="Must members answer it?", show_default=False)] = None,
    retention_days: Annotated[Optional[str], typer.Option("--retention-days", metavar="DAYS|none", help="Delete answers this many days after they were given, or 'none'.")] = None,
) -> None:
    """Change a question (only the options given); its kind and the answers already given stay.

    Example: crm form question edit 2 --text "Favourite drinks" --optional
    """
    from crm_cli.services import forms

    st = state(ctx)
    with st.transaction() as tx:
        q = forms.edit_question(tx.session, store_id=current_store_id(tx), ref=question, text=text, choices=choice or None,
                                required=required, retention_days=retention_days)
        tx.audit(f"edited question #{q.number}: {q.text}")
    st.render(q if st.fmt == "json" else _question_row(q))


@question_app.command("remove")
def question_remove(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question's number (see `crm form question list`) or its text.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a question and delete the answers given to it; later questions move up one number.

    Asks for confirmation on a terminal when members have answered it; scripts pass --yes.
    Example: crm form question remove 3 --yes
    """
    from crm_cli.domain.errors import InvalidInput
    from crm_cli.services import forms

    st = state(ctx)
    if not yes:
        with st.reading() as tx:
            answered = forms.count_answers(tx.session, store_id=current_store_id(tx), ref=question)
        if answered:
            if not sys.stdin.isatty():
                raise InvalidInput(f"{answered} answer(s) to this question would be deleted: pass --yes to confirm")
            if not typer.confirm(f"Delete the question and its {answered} answer(s)?", default=False, err=True):
                raise typer.Exit(1)
    with st.transaction() as tx:
        res = forms.remove_question(tx.session, store_id=current_store_id(tx), ref=question)
        tx.audit(f"removed question #{res.number}: {res.text} ({res.answers_deleted} answers deleted)")
    st.render(res)


def _question_row(q) -> dict:
    return {
        "number": q.number, "text": q.text, "kind": q.kind, "required": q.required,
        "choices": ", ".join(c.value + (f" → {c.tag}" if c.tag else "") for c in q.choices),
        "retention_days": q.retention_days,
    }


@app.command("show")
def form_show(ctx: typer.Context) -> None:
    """Show the registration form: terms version and text, questions, sign-up link.

    Example: crm form show
    """
    from crm_cli.services import forms

    st, info = read(ctx, forms.show_form)
    from crm_cli.cli.render import Document, Section

    header = {
        "terms_version": info.terms_version if info.terms_version else "(none: run `crm form terms --file TERMS.md`)",
        "terms_updated_at": info.terms_updated_at,
        "sign_up_link": info.sign_up_link,
        "questions": len(info.questions),
    }
    sections = [Section("form", header)]
    if info.questions:
        sections.append(Section("questions", [_question_row(q) for q in info.questions], QUESTION_COLUMNS))
    st.render(Document(sections, whole=info))
    if info.terms and (st.fmt or "table") == "table":
        from crm_cli.domain.safetext import escape

        typer.echo("\n" + escape(info.terms, keep_newline=True))


@app.command("link")
def form_link(ctx: typer.Context, out: PngOutOpt = None, qr: QrOpt = None) -> None:
    """Print the member sign-up link (for the LINE OA Rich Menu) and its QR code.

    Example: crm form link --out signup.png
    """
    from crm_cli.fileio import qr as qrmod
    from crm_cli.services import forms

    st, info = read(ctx, forms.sign_up_link)
    if info.terms_version is None:
        st.info("note: the store has no terms yet; members cannot register until `crm form terms --file TERMS.md`")
    qrmod.show(info.link, png=out or qr, tty=sys.stdout.isatty() and not st.quiet, echo=lambda m: typer.echo(m, err=True))
    st.render(info)
