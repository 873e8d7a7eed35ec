"""Builders for the migration scripts in versions/: columns, tables, added columns and
indexes described once, created by ``upgrade`` and removed (in reverse) by ``downgrade``.

Each builder renders exactly what Alembic's autogenerate writes for the models: a table
is its columns in order, then its foreign keys (sorted by column, as autogenerate lists
them), its primary key, its unique constraints in the order given, then its indexes. A
migration script lists its steps in a function (columns belong to one table, so every
run builds fresh ones) and takes ``upgrade`` and ``downgrade`` from :func:`migration`:

    def _steps() -> list[Step]:
        return [table('segment', ident(), ref('store_id', 'store'), string('name', 80),
                      unique=[uq('store_id', 'name', name='uq_segment_store_name')])]

    upgrade, downgrade = migration(_steps)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from crm_cli.db.types import Money, UTCDateTime

_REF = "crm_ref"  # Column.info key: the table a column refers to (its ``id``)


# --- columns ---------------------------------------------------------------------------

def _column(name: str, type_: Any, null: bool, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, type_, nullable=null, **kw)


def ident(name: str = "id") -> sa.Column[Any]:
    """The integer primary key (SERIAL on PostgreSQL when it is the table's only key)."""
    return _column(name, sa.Integer(), False)


def key(name: str) -> sa.Column[Any]:
    """An integer primary key given by the application (no sequence)."""
    return _column(name, sa.Integer(), False, autoincrement=False)


def integer(name: str, *, null: bool = False, **kw: Any) -> sa.Column[Any]:
    return _column(name, sa.Integer(), null, **kw)


def ref(name: str, target: str, *, null: bool = False, **kw: Any) -> sa.Column[Any]:
    """An integer column with a foreign key to ``target.id``."""
    return _column(name, sa.Integer(), null, info={_REF: target}, **kw)


def string(name: str, length: int | None = None, *, null: bool = False, **kw: Any) -> sa.Column[Any]:
    """Text: VARCHAR(length), or unbounded without a length."""
    return _column(name, AutoString(length=length) if length else AutoString(), null, **kw)


def moment(name: str, *, null: bool = False) -> sa.Column[Any]:
    """A point in time (UTC)."""
    return _column(name, UTCDateTime(), null)


def day(name: str, *, null: bool = False) -> sa.Column[Any]:
    return _column(name, sa.Date(), null)


def money(name: str, *, null: bool = False) -> sa.Column[Any]:
    return _column(name, Money(), null)


def flag(name: str) -> sa.Column[Any]:
    return _column(name, sa.Boolean(), False)


@dataclass(frozen=True)
class Unique:
    columns: tuple[str, ...]
    name: str | None = None

    @property
    def given_name(self) -> str:
        """The name a constraint added to (or dropped from) an existing table needs."""
        if self.name is None:
            raise ValueError(f"unique constraint on {self.columns} needs a name")
        return self.name


def uq(*columns: str, name: str | None = None) -> Unique:
    """A unique constraint (unnamed ones take the database's default name)."""
    return Unique(columns, name)


# --- steps -----------------------------------------------------------------------------

class Step(Protocol):
    def apply(self) -> None: ...

    def revert(self) -> None: ...


def _create_indexes(table_name: str, indexes: dict[str, Sequence[str]]) -> None:
    if indexes:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            for name, columns in indexes.items():
                batch_op.create_index(name, list(columns), unique=False)


def _drop_indexes(table_name: str, indexes: dict[str, Sequence[str]]) -> None:
    if indexes:
        with op.batch_alter_table(table_name, schema=None) as batch_op:
            for name in reversed(list(indexes)):
                batch_op.drop_index(name)


@dataclass
class Table:
    """A new table: ``primary`` is its primary key, ``indexed`` the columns that get a
    one-column ``ix_<table>_<column>`` index (before the ones named in ``indexes``)."""

    name: str
    columns: tuple[sa.Column[Any], ...]
    primary: tuple[str, ...] = ("id",)
    unique: Sequence[Unique] = ()
    indexed: Sequence[str] = ()
    named_indexes: dict[str, Sequence[str]] = field(default_factory=dict)

    @property
    def indexes(self) -> dict[str, Sequence[str]]:
        plain: dict[str, Sequence[str]] = {f"ix_{self.name}_{c}": [c] for c in self.indexed}
        return {**plain, **self.named_indexes}

    def apply(self) -> None:
        refs = sorted((c.name, c.info[_REF]) for c in self.columns if _REF in c.info)
        op.create_table(
            self.name,
            *self.columns,
            *(sa.ForeignKeyConstraint([c], [f"{target}.id"]) for c, target in refs),
            sa.PrimaryKeyConstraint(*self.primary),
            *(sa.UniqueConstraint(*u.columns, name=u.name) for u in self.unique),
        )
        _create_indexes(self.name, self.indexes)

    def revert(self) -> None:
        _drop_indexes(self.name, self.indexes)
        op.drop_table(self.name)


def table(name: str, *columns: sa.Column[Any], primary: Sequence[str] = ("id",), unique: Sequence[Unique] = (),
          indexed: Sequence[str] = (), indexes: dict[str, Sequence[str]] | None = None) -> Table:
    return Table(name, columns, tuple(primary), unique, indexed, dict(indexes or {}))


@dataclass
class Columns:
    """Columns (and unique constraints over them) added to an existing table."""

    table: str
    columns: tuple[sa.Column[Any], ...]
    unique: Sequence[Unique] = ()

    def apply(self) -> None:
        with op.batch_alter_table(self.table, schema=None) as batch_op:
            for column in self.columns:
                batch_op.add_column(column)
            for u in self.unique:
                batch_op.create_unique_constraint(u.given_name, list(u.columns))

    def revert(self) -> None:
        with op.batch_alter_table(self.table, schema=None) as batch_op:
            for u in reversed(self.unique):
                batch_op.drop_constraint(u.given_name, type_="unique")
            for column in reversed(self.columns):
                batch_op.drop_column(column.name)


def add_columns(table_name: str, *columns: sa.Column[Any], unique: Sequence[Unique] = ()) -> Columns:
    return Columns(table_name, columns, unique)


@dataclass
class Indexes:
    """Indexes added to an existing table."""

    table: str
    indexes: dict[str, Sequence[str]]

    def apply(self) -> None:
        _create_indexes(self.table, self.indexes)

    def revert(self) -> None:
        _drop_indexes(self.table, self.indexes)


def add_indexes(table_name: str, **indexes: Sequence[str]) -> Indexes:
    return Indexes(table_name, indexes)


def migration(steps: Callable[[], Sequence[Step]]) -> tuple[Callable[[], None], Callable[[], None]]:
    """``upgrade`` applies the steps in order, ``downgrade`` reverts them in reverse."""

    def upgrade() -> None:
        for step in steps():
            step.apply()

    def downgrade() -> None:
        for step in reversed(steps()):
            step.revert()

    return upgrade, downgrade
