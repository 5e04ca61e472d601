"""OpenLineage events of a run: START, then COMPLETE or FAIL, as JSON lines.

Built from the run's configuration and the published warehouse, written through
the openlineage-python client's file transport (no server needed) and, when the
environment configures the client (``OPENLINEAGE_URL`` for Marquez, ``OPENLINEAGE_CONFIG``),
sent through the transport it names as well (``write_events``):

- inputs: every source file and every fact export (namespace ``file``, the
  absolute path), with a ``schema`` facet listing the columns the config reads
  and what each becomes (``fact_invoices.amount``, ...);
- outputs (COMPLETE only): every warehouse table (namespace ``duckdb://<database>``,
  name ``main.<table>``) with its schema, row count, Parquet mirror (``symlinks``)
  and the ``columnLineage`` facet: for ``golden_customer``, ``customer_contact_points``,
  ``field_lineage``, ``field_candidates``, ``standardised_records`` and ``customer_xref``
  from source columns, derived from the source configs' field mappings; for every SQL
  model from the warehouse or model columns sqlglot traced it to (``model_column_lineage``);
- run facets: the code version (``processing_engine``), the configuration hash
  (``tags``) and, on FAIL, the one-line reason (``errorMessage``).

``lineage.openlineage_validate.parse_event`` reads an event back into the client's own
generated classes, which is how tests validate events against the schema offline.

Example (the one call a runner makes after the Dagster run finished)::

    emit_run_lineage(warehouse.root / OPENLINEAGE_FILE, config=config, run_id=result.run_id,
                     started_at=started_at, error=None if result.success else reason,
                     database=warehouse.database)
"""

from __future__ import annotations

import contextlib
import glob
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import duckdb
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    datasource_dataset,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    processing_engine_run,
    schema_dataset,
    symlinks_dataset,
    tags_run,
)
from openlineage.client.transport.file import FileConfig, FileTransport

from connectors.canonical import GOLDEN_FIELDS
from connectors.config import SourceConfig
from connectors.facts import FactConfig
from connectors.paths import GLOB_CHARS
from lineage.provenance import code_version
from lineage.settings import LineageError, SurvivorshipSettings

OPENLINEAGE_FILE = "openlineage.jsonl"
JOB_NAMESPACE = "fusion"
PRODUCER = "urn:fusion:lineage"  # a URI naming the producer of the events (the spec asks for one)
FILE_NAMESPACE = "file"
GOLDEN_TABLE = "golden_customer"
# Tables whose ``value`` column holds candidate values of every golden field.
LONG_VALUE_TABLES = ("field_lineage", "field_candidates")
CONTACT_POINTS_TABLE = "customer_contact_points"
STANDARDISED_TABLE = "standardised_records"
CONTACTS_TABLE = "customer_contacts"
CONTACT_LINEAGE_TABLE = "customer_contact_lineage"
XREF_TABLE = "customer_xref"
# The release's column lineage of the SQL models (dbt_like_models.release.MODEL_COLUMN_LINEAGE).
MODEL_LINEAGE_TABLE = "model_column_lineage"


class OpenLineageError(LineageError):
    """Events cannot be built, written, or read back as valid OpenLineage."""


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class RunConfig(Protocol):
    """What the events need from a run configuration (``pipelines.settings.FusionConfig``)."""

    @property
    def run(self) -> _Named: ...

    @property
    def sources(self) -> Sequence[SourceConfig]: ...

    @property
    def facts(self) -> Sequence[FactConfig]: ...

    @property
    def survivorship(self) -> SurvivorshipSettings: ...

    @property
    def config_hash(self) -> str: ...


@dataclass(frozen=True)
class ColumnSource:
    """One source column feeding a golden column, and how."""

    source: str  # the configured source name (its Dagster asset is ``source_<name>``)
    dataset: str  # absolute file path (namespace ``file``)
    column: str
    type: str  # DIRECT | INDIRECT
    subtype: str
    description: str


def source_files(source: SourceConfig) -> list[str]:
    """The files a source reads now: the glob's matches, else the configured path."""
    resolved = str(Path(source.resolved_path).absolute())
    if source.is_glob:
        return sorted(glob.glob(resolved)) or [resolved]
    return [resolved]


def _describe_mapping(field: str, mapping: Any) -> str:
    if mapping.derives_presence:
        return f"{field} (present/absent)"
    if mapping.map is not None:
        return f"{field} (value map)"
    return field


def _column_roles(source: SourceConfig) -> dict[str, list[str]]:
    """Source column -> what it becomes, in config order."""
    roles: dict[str, list[str]] = {source.record_id: ["source_record_id"]}
    if source.updated_at is not None:
        spec = source.updated_at
        roles.setdefault(spec.column, []).append(
            f"source_updated_at ({spec.format}, {spec.timezone})"
        )
    for field, mapping in source.fields.items():
        for column in mapping.source_columns:
            roles.setdefault(column, []).append(_describe_mapping(field, mapping))
    return roles


def input_datasets(sources: Sequence[SourceConfig]) -> list[InputDataset]:
    """Every source file, with a schema facet of the columns its config reads."""
    datasets: list[InputDataset] = []
    for source in sources:
        roles = _column_roles(source)
        label = f"{source.name} ({source.system}, {source.format})"
        datasets.extend(_file_input(path, roles, label) for path in source_files(source))
    return datasets


def _file_input(path: str, roles: dict[str, list[str]], label: str) -> InputDataset:
    """One export file as an input dataset: each column read and what it becomes, and the file."""
    fields = [
        schema_dataset.SchemaDatasetFacetFields(
            name=column,
            type="string",
            description="-> " + "; ".join(targets),
            ordinal_position=position,
        )
        for position, (column, targets) in enumerate(roles.items(), start=1)
    ]
    facets: dict[str, Any] = {
        "schema": schema_dataset.SchemaDatasetFacet(fields=fields),
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name=label, uri=Path(path).as_uri()
        ),
    }
    return InputDataset(namespace=FILE_NAMESPACE, name=path, facets=facets)


def fact_files(fact: FactConfig) -> list[str]:
    """The files a fact source reads now: the glob's matches, else the configured path."""
    pattern = Path(fact.path) if Path(fact.path).is_absolute() else fact.base_dir / fact.path
    resolved = str(pattern.absolute())
    if GLOB_CHARS.search(fact.path):
        return sorted(glob.glob(resolved)) or [resolved]
    return [resolved]


def fact_input_datasets(facts: Sequence[FactConfig]) -> list[InputDataset]:
    """Every fact export, with a schema facet of the columns read and the fact columns they fill.

    The SQL models (``customer_360``, ``source_quality``...) roll these up, so
    they are inputs of the run as much as the customer exports are.
    """
    datasets: list[InputDataset] = []
    for fact in facts:
        roles: dict[str, list[str]] = {}
        for fact_column, columns in fact.column_of.items():
            mapping = getattr(fact, fact_column, None)
            how = " (value map)" if getattr(mapping, "map", None) is not None else ""
            for column in columns:
                roles.setdefault(column, []).append(f"{fact.table}.{fact_column}{how}")
        label = f"{fact.name} ({fact.kind} facts, {fact.format})"
        datasets.extend(_file_input(path, roles, label) for path in fact_files(fact))
    return datasets


def golden_column_lineage(
    sources: Sequence[SourceConfig], *, settings: SurvivorshipSettings
) -> dict[str, list[ColumnSource]]:
    """Golden column -> every source column it can come from (plain data, no client types).

    Dependent fields (city after the address) also depend, indirectly, on the
    leader's columns. The same mapping can feed Dagster's column-lineage metadata.
    A mapped field that is matched on but never published (birth_date) is no
    golden column, so it has no entry.
    """
    leader_of = {f: leader for leader, fs in settings.dependent_fields.items() for f in fs}
    lineage: dict[str, list[ColumnSource]] = {}
    for source in sources:
        files = source_files(source)
        for field, mapping in source.fields.items():
            if field not in GOLDEN_FIELDS:
                continue
            rule = settings.rules.get(field, "highest_trust")
            how = "present/absent of the column" if mapping.derives_presence else "standardised"
            if mapping.map is not None:
                how = "value map, standardised"
            if not mapping.source_columns:
                continue  # a constant comes from the config, not from a column
            refs = lineage.setdefault(field, [])
            for path in files:
                refs.extend(
                    ColumnSource(
                        source.name, path, column, "DIRECT", "TRANSFORMATION", f"{how}; {rule}"
                    )
                    for column in mapping.source_columns
                )
            if field == "contact_name" and "name" in settings.role_fields:
                # A person's order recipient is a name candidate (lineage.roles).
                name_rule = settings.rules.get("name", "highest_trust")
                for path in files:
                    lineage.setdefault("name", []).extend(
                        ColumnSource(
                            source.name, path, column, "DIRECT", "TRANSFORMATION",
                            f"{how}; a person's order recipient; {name_rule}",
                        )
                        for column in mapping.source_columns
                    )  # fmt: skip
            leader = leader_of.get(field)
            if leader is not None and leader in source.fields:
                for path in files:
                    refs.extend(
                        ColumnSource(
                            source.name,
                            path,
                            column,
                            "INDIRECT",
                            "CONDITIONAL",
                            f"follows the winning {leader}",
                        )
                        for column in source.fields[leader].source_columns
                    )
    return lineage


def _input_field(ref: ColumnSource) -> column_lineage_dataset.InputField:
    return column_lineage_dataset.InputField(
        namespace=FILE_NAMESPACE,
        name=ref.dataset,
        field=ref.column,
        transformations=[
            column_lineage_dataset.Transformation(
                type=ref.type, subtype=ref.subtype, description=ref.description, masking=False
            )
        ],
    )


def _dataset_wide(sources: Sequence[SourceConfig]) -> list[column_lineage_dataset.InputField]:
    """Columns that affect every row: record ids link records, timestamps rank values."""
    refs = []
    for source in sources:
        for path in source_files(source):
            refs.append(
                ColumnSource(
                    source.name,
                    path,
                    source.record_id,
                    "INDIRECT",
                    "JOIN",
                    "records linked by matching",
                )
            )
            if source.updated_at is not None:
                refs.append(
                    ColumnSource(
                        source.name,
                        path,
                        source.updated_at.column,
                        "INDIRECT",
                        "SORT",
                        "recency in trust",
                    )
                )
    return [_input_field(r) for r in refs]


def column_lineage_facets(
    sources: Sequence[SourceConfig],
    *,
    settings: SurvivorshipSettings,
    facts: Sequence[FactConfig] = (),
) -> dict[str, column_lineage_dataset.ColumnLineageDatasetFacet]:
    """Table -> its ``columnLineage`` facet, for the tables fed by export values."""
    lineage = golden_column_lineage(sources, settings=settings)
    wide = _dataset_wide(sources)

    def fields(refs: Sequence[ColumnSource]) -> column_lineage_dataset.Fields:
        return column_lineage_dataset.Fields(inputFields=[_input_field(r) for r in refs])

    every = [ref for refs in lineage.values() for ref in refs if ref.type == "DIRECT"]
    contact = [
        ColumnSource(
            r.source, r.dataset, r.column, "DIRECT", "AGGREGATION", "every distinct value kept"
        )
        for field in settings.contact_point_fields
        for r in lineage.get(field, [])
        if r.type == "DIRECT"
    ]
    facets = {
        GOLDEN_TABLE: column_lineage_dataset.ColumnLineageDatasetFacet(
            fields={field: fields(refs) for field, refs in lineage.items()}, dataset=wide
        ),
        CONTACT_POINTS_TABLE: column_lineage_dataset.ColumnLineageDatasetFacet(
            fields={"value": fields(contact)}, dataset=wide
        ),
    }
    for table in LONG_VALUE_TABLES:
        facets[table] = column_lineage_dataset.ColumnLineageDatasetFacet(
            fields={"value": fields(every)}, dataset=wide
        )
    record_ids = [
        ColumnSource(source.name, path, source.record_id, "DIRECT", "IDENTITY", "record id")
        for source in sources
        for path in source_files(source)
    ]
    facets[STANDARDISED_TABLE] = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "source_record_id": fields(record_ids),
            **{field: fields(refs) for field, refs in _mapped_columns(sources).items()},
        },
        dataset=[],
    )
    facets[XREF_TABLE] = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={"source_record_id": fields(record_ids)}, dataset=wide
    )
    contact_columns = {
        "name": [*lineage.get("contact_name", []), *lineage.get("name", [])],
        "email": lineage.get("email", []),
        "phone": lineage.get("phone", []),
    }
    direct = {k: [r for r in refs if r.type == "DIRECT"] for k, refs in contact_columns.items()}
    facets[CONTACTS_TABLE] = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={column: fields(refs) for column, refs in direct.items() if refs}, dataset=wide
    )
    facets[CONTACT_LINEAGE_TABLE] = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={"value": fields([r for refs in direct.values() for r in refs])}, dataset=wide
    )
    for fact in facts:
        per_column: dict[str, list[ColumnSource]] = {}
        for path in fact_files(fact):
            for fact_column, columns in fact.column_of.items():
                per_column.setdefault(fact_column, []).extend(
                    ColumnSource(fact.name, path, c, "DIRECT", "TRANSFORMATION", "fact mapping")
                    for c in columns
                )
        facet = facets.get(fact.table)
        merged = dict(facet.fields) if facet is not None else {}
        for fact_column, refs in per_column.items():
            if refs:
                before = merged[fact_column].inputFields if fact_column in merged else []
                merged[fact_column] = column_lineage_dataset.Fields(
                    inputFields=[*before, *(_input_field(r) for r in refs)]
                )
        facets[fact.table] = column_lineage_dataset.ColumnLineageDatasetFacet(
            fields=merged, dataset=[]
        )
    return facets


def _mapped_columns(sources: Sequence[SourceConfig]) -> dict[str, list[ColumnSource]]:
    """Canonical field -> the export columns each source maps to it (every mapped field)."""
    mapped: dict[str, list[ColumnSource]] = {}
    for source in sources:
        for path in source_files(source):
            for field, mapping in source.fields.items():
                how = "value map, standardised" if mapping.map is not None else "standardised"
                mapped.setdefault(field, []).extend(
                    ColumnSource(source.name, path, column, "DIRECT", "TRANSFORMATION", how)
                    for column in mapping.source_columns
                )
    return {field: refs for field, refs in mapped.items() if refs}


def model_column_lineage(
    con: duckdb.DuckDBPyConnection, namespace: str
) -> dict[str, column_lineage_dataset.ColumnLineageDatasetFacet]:
    """SQL model -> its ``columnLineage`` facet, from the release's ``model_column_lineage``.

    That table holds what sqlglot traced for every model column (``dbt_like_models.lineage``):
    the warehouse or model column it is computed from. Both live in the same database.
    """
    present = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_name = ?",
        [MODEL_LINEAGE_TABLE],
    ).fetchall()[0][0]
    if not present:
        return {}
    rows = con.execute(
        f"SELECT model, column_name, upstream_table, upstream_column FROM {MODEL_LINEAGE_TABLE} "
        "ORDER BY ALL"
    ).fetchall()
    by_model: dict[str, dict[str, list[column_lineage_dataset.InputField]]] = {}
    for model, column, table, table_column in rows:
        by_model.setdefault(model, {}).setdefault(column, []).append(
            column_lineage_dataset.InputField(
                namespace=namespace,
                name=f"main.{table}",
                field=table_column,
                transformations=[
                    column_lineage_dataset.Transformation(
                        type="DIRECT", subtype="TRANSFORMATION", description="SQL model"
                    )
                ],
            )
        )
    return {
        model: column_lineage_dataset.ColumnLineageDatasetFacet(
            fields={
                column: column_lineage_dataset.Fields(inputFields=inputs)
                for column, inputs in columns.items()
            },
            dataset=[],
        )
        for model, columns in by_model.items()
    }


def output_datasets(
    database: Path,
    *,
    sources: Sequence[SourceConfig],
    settings: SurvivorshipSettings,
    facts: Sequence[FactConfig] = (),
) -> list[OutputDataset]:
    """Every table of the published DuckDB file, with schema, row count and lineage.

    A table with no column-level lineage of its own (run records, quality results,
    match evidence, ...) still names what all its rows derive from: the exports'
    record-ID and timestamp columns (the facet's dataset-wide ``dataset`` part).
    """
    database = Path(database).absolute()
    namespace = f"duckdb://{database}"
    lineage = column_lineage_facets(sources, settings=settings, facts=facts)
    wide = _dataset_wide(sources)
    with contextlib.closing(duckdb.connect(str(database), read_only=True)) as con:
        columns = con.execute(
            "SELECT table_name, column_name, data_type, ordinal_position "
            "FROM information_schema.columns WHERE table_schema = 'main' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
        tables = sorted({row[0] for row in columns})
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}
        lineage = {**lineage, **model_column_lineage(con, namespace)}
    datasets = []
    for table in tables:
        schema = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(
                    name=name, type=kind, ordinal_position=position
                )
                for t, name, kind, position in columns
                if t == table
            ]
        )
        facets: dict[str, Any] = {"schema": schema}
        mirror = database.parent / "parquet" / f"{table}.parquet"
        if mirror.exists():
            facets["symlinks"] = symlinks_dataset.SymlinksDatasetFacet(
                identifiers=[
                    symlinks_dataset.Identifier(
                        namespace=FILE_NAMESPACE, name=str(mirror), type="FILE"
                    )
                ]
            )
        facets["columnLineage"] = lineage.get(table) or (
            column_lineage_dataset.ColumnLineageDatasetFacet(fields={}, dataset=wide)
        )
        datasets.append(
            OutputDataset(
                namespace=namespace,
                name=f"main.{table}",
                facets=facets,
                outputFacets={
                    "outputStatistics": (
                        output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                            rowCount=int(counts[table])
                        )
                    )
                },
            )
        )
    return datasets


def openlineage_run_id(run_id: str) -> str:
    """The run ID as a UUID (Dagster's are UUIDs; anything else maps to a stable UUIDv5)."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fusion:{run_id}"))


def _iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def build_run_event(
    state: RunState,
    *,
    config: RunConfig,
    run_id: str,
    event_time: datetime,
    inputs: Sequence[InputDataset] = (),
    outputs: Sequence[OutputDataset] = (),
    error: str | None = None,
) -> RunEvent:
    """One OpenLineage run event of a fusion run (pure: no I/O)."""
    run_facets: dict[str, Any] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=code_version(),
            name="fusion",
            openlineageAdapterVersion=metadata.version("openlineage-python"),
        ),
        "tags": tags_run.TagsRunFacet(
            tags=[
                tags_run.TagsRunFacetFields(
                    key="config_hash", value=config.config_hash, source="fusion"
                )
            ]
        ),  # fmt: skip
    }
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python"
        )
    job = Job(
        namespace=JOB_NAMESPACE,
        name=f"fusion.{config.run.name}",
        facets={
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="FUSION", jobType="JOB"
            )
        },
    )
    return RunEvent(
        eventType=state,
        eventTime=_iso(event_time),
        run=Run(runId=openlineage_run_id(run_id), facets=run_facets),
        job=job,
        inputs=list(inputs),
        outputs=list(outputs),
        producer=PRODUCER,
    )


def run_events(
    *,
    config: RunConfig,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    error: str | None = None,
    database: Path | None = None,
) -> list[RunEvent]:
    """START and COMPLETE (outputs read from ``database``), or START and FAIL."""
    inputs = [*input_datasets(config.sources), *fact_input_datasets(config.facts)]
    start = build_run_event(
        RunState.START, config=config, run_id=run_id, event_time=started_at, inputs=inputs
    )
    if error is not None or database is None:
        reason = error or "nothing was published"
        end = build_run_event(
            RunState.FAIL,
            config=config,
            run_id=run_id,
            event_time=finished_at,
            inputs=inputs,
            error=reason,
        )
        return [start, end]
    outputs = output_datasets(
        database, sources=config.sources, settings=config.survivorship, facts=config.facts
    )
    complete = build_run_event(
        RunState.COMPLETE,
        config=config,
        run_id=run_id,
        event_time=finished_at,
        inputs=inputs,
        outputs=outputs,
    )
    return [start, complete]


# The openlineage-python client's own settings: a server URL (Marquez: OPENLINEAGE_URL,
# with OPENLINEAGE_ENDPOINT / OPENLINEAGE_API_KEY), a YAML file (OPENLINEAGE_CONFIG) or
# transport variables (OPENLINEAGE__TRANSPORT__TYPE=http, ...). With none set, events go
# to the warehouse's file only.
TRANSPORT_VARIABLES = ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG")
TRANSPORT_PREFIX = "OPENLINEAGE__TRANSPORT__"


def configured_transport(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment names an OpenLineage transport besides the warehouse file."""
    environ = os.environ if environ is None else environ
    if environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    return any(environ.get(name) for name in TRANSPORT_VARIABLES) or any(
        name.startswith(TRANSPORT_PREFIX) for name in environ
    )


def write_events(events: Sequence[RunEvent], path: Path) -> None:
    """Append events as JSON lines through the client's file transport, and send them on.

    The file is always written: the warehouse keeps its own lineage. When the
    environment configures the client (``configured_transport``: a Marquez URL,
    an ``openlineage.yml``), the same events also go through the transport it
    names, resolved by the client itself (HTTP, Kafka, ...), so a lineage server
    sees runs as they happen. A transport that refuses them is an error naming
    it, like a file that cannot be written; the release is published either way.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    file = FileTransport(FileConfig(log_file_path=str(path), append=True))
    _emit(OpenLineageClient(transport=file), events, where=str(path))
    if configured_transport():
        client = OpenLineageClient()
        _emit(client, events, where=_describe(client))


def _emit(client: OpenLineageClient, events: Sequence[RunEvent], *, where: str) -> None:
    try:
        for event in events:
            client.emit(event)
    except Exception as error:  # noqa: BLE001 - any transport's failure is reported the same way
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        msg = f"OpenLineage events could not be written to {where}: {reason}"
        raise OpenLineageError(msg) from error
    finally:
        client.close()


def _describe(client: OpenLineageClient) -> str:
    """The transport's kind and, for HTTP, its URL: where the events went."""
    transport = client.transport
    url = getattr(getattr(transport, "config", None), "url", None) or getattr(
        transport, "url", None
    )
    return f"{transport.kind} transport" + (f" {url}" if url else "")


def emit_run_lineage(
    path: Path,
    *,
    config: RunConfig,
    run_id: str,
    started_at: datetime,
    finished_at: datetime | None = None,
    error: str | None = None,
    database: Path | None = None,
) -> list[RunEvent]:
    """Build the run's events and append them to ``path`` (one call for a runner).

    ``error`` (the one-line failure reason) makes the second event FAIL; otherwise
    the published ``database`` is read for the output datasets.
    """
    events = run_events(
        config=config,
        run_id=run_id,
        started_at=started_at,
        finished_at=finished_at or datetime.now(UTC),
        error=error,
        database=database,
    )
    write_events(events, path)
    return events
