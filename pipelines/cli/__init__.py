"""The ``fusion`` command line, one module per command group.

``fusion run`` materialises the same Dagster asset graph as the scheduler,
in process, and exits non-zero with a one-line reason when anything fails; the
previously published warehouse is then untouched. Every other command reads a
published warehouse (or the SQL models) and fails the same way: one line on
stderr, a non-zero exit.
"""

from __future__ import annotations

from pipelines.cli.app import main
from pipelines.cli.check_config import check_config
from pipelines.cli.explain import explain
from pipelines.cli.label import label
from pipelines.cli.models import MODEL_DIALECTS, models
from pipelines.cli.query import resolve, sql
from pipelines.cli.reports import evaluate, lineage, model, report
from pipelines.cli.review import review
from pipelines.cli.run import run

for _command in (run, lineage, report, model, explain, sql, evaluate, review, label, models,
                 resolve):  # fmt: skip
    main.add_command(_command)
main.add_command(check_config)

__all__ = ["MODEL_DIALECTS", "main"]
