"""The Dagster wiring: the only package that imports dagster.

``assets`` (one asset per source and per stage, each body a call into
``pipelines.stages``), ``model_assets`` (one asset per SQL model, its tests as
checks), ``invariant_checks`` and ``quality_checks`` (the asset checks that gate
publishing), ``resources``, ``graph`` (jobs, schedule, sensor and the
``Definitions``), ``definitions`` (the code location), ``runner`` (``fusion run``
materialises the same graph in process), ``step_outputs`` (its IO manager) and
``progress`` (its terminal logger).
"""
