"""Rows a store names: a promo pool, a survey, a rich menu... looked up by the store and
the name the operator typed, with the command's own "not found" line."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import col, select

from crm_cli.services import common

T = TypeVar("T")


def find(session, model: type[T], store_id: int, name: str, *extra: Any) -> T | None:
    """The store's row of ``model`` called ``name`` (and matching ``extra`` conditions), or None."""
    query = select(model).where(col(model.store_id) == store_id, col(model.name) == name, *extra)  # type: ignore[attr-defined]
    return session.execute(query).scalars().first()


def get(session, model: type[T], store_id: int, name: str, *extra: Any, missing: str) -> T:
    """As :func:`find`, refused with ``missing`` (NotFound) when there is no such row."""
    return common.found(find(session, model, store_id, name, *extra), missing)


def clean(raw: str | None, what: str, max_len: int) -> str:
    """The name an operator typed, spaces collapsed; InvalidInput when empty or too long."""
    return common.clean_name(raw, what=f"the {what} name", limit=max_len, empty=f"a {what} needs a name")
