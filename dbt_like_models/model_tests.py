"""Declarative model tests as SQL: each counts the rows that break it.

Like dbt's generic tests, a test is a query over the built model that returns
the offending rows; zero rows passes. The queries are built as sqlglot
expressions (no string formatting of identifiers or values), so a column
called ``order`` or a value with a quote cannot break them.

Example:
    >>> failing_rows_query(ModelTest(kind="not_null", column="tier"), model="customer_tier").sql()
    'SELECT tier AS value FROM customer_tier WHERE tier IS NULL'
"""

from __future__ import annotations

from sqlglot import exp

from dbt_like_models.project import ModelTest


def failing_rows_query(test: ModelTest, *, model: str) -> exp.Select:
    """The rows of ``model`` that fail ``test``, as ``SELECT value``.

    NULLs pass every test but ``not_null`` (as in dbt): a missing value is
    not a duplicate, not an unknown code and not a dangling reference.
    """
    column = exp.column(test.column)
    present = exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null()))
    select = exp.select(exp.alias_(column.copy(), "value")).from_(exp.to_table(model))
    if test.kind == "not_null":
        return select.where(exp.Is(this=column, expression=exp.Null()))
    if test.kind == "unique":
        count = exp.Count(this=exp.Star())
        return (
            select.where(present)
            .group_by(column)
            .having(exp.GT(this=count, expression=exp.Literal.number(1)))
        )
    if test.kind == "accepted_values":
        allowed = [exp.Literal.string(v) for v in test.values]
        outside = exp.Not(this=exp.In(this=exp.cast(column, "TEXT"), expressions=allowed))
        return select.where(exp.and_(present, outside))
    if test.kind == "relationships":
        assert test.to is not None
        assert test.field is not None
        parent = exp.select(exp.column(test.field)).from_(exp.to_table(test.to))
        parent = parent.where(
            exp.Not(this=exp.Is(this=exp.column(test.field), expression=exp.Null()))
        )
        dangling = exp.Not(this=exp.In(this=column, query=exp.Subquery(this=parent)))
        return select.where(exp.and_(present, dangling))
    msg = f"unknown test kind {test.kind!r}"
    raise ValueError(msg)
