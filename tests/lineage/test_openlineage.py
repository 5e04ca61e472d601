"""OpenLineage events: built from the source configs, validated by the client's own classes."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.event_v2 import RunEvent, RunState

from connectors.config import SourceConfig, parse_sources
from connectors.facts import FactConfig, parse_facts
from lineage import SurvivorshipSettings
from lineage.openlineage import (
    OPENLINEAGE_FILE,
    column_lineage_facets,
    configured_transport,
    emit_run_lineage,
    golden_column_lineage,
    openlineage_run_id,
    run_events,
)
from lineage.openlineage_validate import OpenLineageError, parse_event, read_events

RUN_ID = "00000000-0000-4000-8000-000000000001"
STARTED = datetime(2024, 6, 1, 2, 0, tzinfo=UTC)
FINISHED = datetime(2024, 6, 1, 2, 5, tzinfo=UTC)


@dataclass(frozen=True)
class RunName:
    name: str = "tiny"


@dataclass(frozen=True)
class TinyConfig:
    """Stands in for pipelines.settings.FusionConfig (the RunConfig protocol)."""

    sources: tuple[SourceConfig, ...]
    facts: tuple[FactConfig, ...] = ()
    run: RunName = RunName()
    survivorship: SurvivorshipSettings = field(default_factory=SurvivorshipSettings)
    config_hash: str = "cafe0123"


@pytest.fixture
def config(tmp_path: Path) -> TinyConfig:
    (tmp_path / "crm.csv").write_text("id,account,mail,street,town,modified\n", encoding="utf-8")
    exports = tmp_path / "exports"
    exports.mkdir()
    for day in ("2024-05-01", "2024-05-02"):
        (exports / f"erp_{day}.csv").write_text("编号,名称,类型,电话\n", encoding="utf-8")
    raw = [
        {"name": "crm", "system": "crm", "path": "crm.csv", "format": "csv", "record_id": "id",
         "updated_at": {"column": "modified", "format": "iso"},
         "fields": {"name": "account", "email": "mail", "address": "street", "city": "town"},
         "trust": {"default": 0.8}},
        {"name": "erp", "system": "erp", "path": "exports/erp_*.csv", "format": "csv",
         "record_id": "编号",
         "fields": {"name": "名称", "phone": "电话",
                    "customer_type": {"column": "类型", "map": {"企业": "company"}},
                    "country": {"constant": "CN"}},
         "trust": {"default": 0.9}},
    ]  # fmt: skip
    return TinyConfig(sources=parse_sources(raw, base_dir=tmp_path))


@pytest.fixture
def database(tmp_path: Path) -> Path:
    from tests.lineage.conftest import build_tiny_warehouse

    return build_tiny_warehouse(tmp_path / "warehouse") / "golden.duckdb"


def _events(config: TinyConfig, database: Path, tmp_path: Path, **kwargs: Any) -> list[RunEvent]:
    path = tmp_path / OPENLINEAGE_FILE
    emit_run_lineage(
        path, config=config, run_id=RUN_ID, started_at=STARTED, finished_at=FINISHED,
        database=database, **kwargs,
    )  # fmt: skip
    return read_events(path)


def test_complete_run_emits_start_and_complete(
    config: TinyConfig, database: Path, tmp_path: Path
) -> None:
    start, complete = _events(config, database, tmp_path)
    assert (start.eventType, complete.eventType) == (RunState.START, RunState.COMPLETE)
    assert start.run.runId == complete.run.runId == RUN_ID
    assert (start.eventTime, complete.eventTime) == (STARTED.isoformat(), FINISHED.isoformat())
    assert complete.job.namespace == "fusion"
    assert complete.job.name == "fusion.tiny"
    assert start.outputs == []
    run_facets = complete.run.facets or {}
    assert run_facets["tags"].tags[0].value == "cafe0123"
    assert run_facets["processing_engine"].name == "fusion"
    names = sorted(Path(d.name).name for d in complete.inputs or [])
    assert names == ["crm.csv", "erp_2024-05-01.csv", "erp_2024-05-02.csv"]  # the glob expanded
    assert {d.namespace for d in complete.inputs or []} == {"file"}


def test_input_schema_comes_from_the_source_config(
    config: TinyConfig, database: Path, tmp_path: Path
) -> None:
    _, complete = _events(config, database, tmp_path)
    crm = next(d for d in complete.inputs or [] if d.name.endswith("crm.csv"))
    fields = {f.name: f.description for f in (crm.facets or {})["schema"].fields}
    assert fields == {
        "id": "-> source_record_id",
        "modified": "-> source_updated_at (iso, UTC)",
        "account": "-> name",
        "mail": "-> email",
        "street": "-> address",
        "town": "-> city",
    }
    erp = next(d for d in complete.inputs or [] if "erp_" in d.name)
    described = {f.name: f.description for f in (erp.facets or {})["schema"].fields}
    assert described["类型"] == "-> customer_type (value map)"


def test_outputs_are_the_warehouse_tables_with_column_lineage(
    config: TinyConfig, database: Path, tmp_path: Path
) -> None:
    _, complete = _events(config, database, tmp_path)
    outputs = {d.name: d for d in complete.outputs or []}
    assert {"main.golden_customer", "main.field_lineage", "main.customer_contact_points"} <= set(
        outputs
    )
    golden = outputs["main.golden_customer"]
    assert golden.namespace == f"duckdb://{database}"
    assert (golden.outputFacets or {})["outputStatistics"].rowCount == 2
    schema = [f.name for f in (golden.facets or {})["schema"].fields]
    assert schema[:3] == ["unified_id", "customer_type", "name"]
    lineage = (golden.facets or {})["columnLineage"].fields
    sources_of_name = sorted((Path(i.name).name, i.field) for i in lineage["name"].inputFields)
    assert sources_of_name == [
        ("crm.csv", "account"),
        ("erp_2024-05-01.csv", "名称"),
        ("erp_2024-05-02.csv", "名称"),
    ]
    assert "country" not in lineage  # a constant has no source column
    city = {(i.field, i.transformations[0].type) for i in lineage["city"].inputFields}
    assert city == {("town", "DIRECT"), ("street", "INDIRECT")}  # follows the winning address
    wide = {
        (i.field, i.transformations[0].subtype)
        for i in (golden.facets or {})["columnLineage"].dataset
    }
    assert ("modified", "SORT") in wide
    assert ("id", "JOIN") in wide


def test_failed_run_emits_fail_with_the_reason(
    config: TinyConfig, database: Path, tmp_path: Path
) -> None:
    start, fail = _events(config, database, tmp_path, error="source 'crm': column 'x' not found")
    assert (start.eventType, fail.eventType) == (RunState.START, RunState.FAIL)
    assert fail.outputs == []
    assert (fail.run.facets or {})["errorMessage"].message == "source 'crm': column 'x' not found"


def test_fact_exports_are_inputs_with_the_fact_columns_they_fill(
    config: TinyConfig, database: Path, tmp_path: Path
) -> None:
    invoices = tmp_path / "invoices"
    invoices.mkdir()
    for month in ("05", "06"):
        (invoices / f"inv_2024-{month}.csv").write_text("no,cust,at,total,state\n", "utf-8")
    raw = [
        {"name": "erp_invoices", "kind": "invoice", "customer_source": "erp",
         "path": "invoices/inv_*.csv", "format": "csv", "fact_id": "no", "customer_id": "cust",
         "occurred_at": {"column": "at", "format": "iso"}, "amount": "total",
         "currency": {"constant": "CNY"}, "status": {"column": "state", "map": {"P": "paid"}}},
    ]  # fmt: skip
    facts = parse_facts(raw, base_dir=tmp_path, source_names=["crm", "erp"])
    with_facts = TinyConfig(sources=config.sources, facts=facts)

    start, _ = _events(with_facts, database, tmp_path)

    inputs = {Path(d.name).name: d for d in start.inputs or []}
    assert sorted(inputs) == ["crm.csv", "erp_2024-05-01.csv", "erp_2024-05-02.csv",
                              "inv_2024-05.csv", "inv_2024-06.csv"]  # fmt: skip
    fields = (inputs["inv_2024-06.csv"].facets or {})["schema"].fields
    assert {f.name: f.description for f in fields} == {
        "no": "-> fact_invoices.fact_id",
        "cust": "-> fact_invoices.source_record_id",
        "at": "-> fact_invoices.occurred_at",
        "total": "-> fact_invoices.amount",
        "state": "-> fact_invoices.status (value map)",
    }
    source = (inputs["inv_2024-05.csv"].facets or {})["dataSource"]
    assert source.name == "erp_invoices (invoice facts, csv)"


def test_events_append_as_json_lines(config: TinyConfig, database: Path, tmp_path: Path) -> None:
    path = tmp_path / "ol" / OPENLINEAGE_FILE
    for _ in range(2):
        emit_run_lineage(path, config=config, run_id="run-a", started_at=STARTED, error="boom")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["eventType"] for line in lines] == ["START", "FAIL"] * 2
    assert {json.loads(line)["run"]["runId"] for line in lines} == {openlineage_run_id("run-a")}


@pytest.mark.parametrize(
    ("run_id", "expected"),
    [
        (RUN_ID, RUN_ID),
        ("7522C09F-E97E-4D13-92A5-0EF22F842945", "7522c09f-e97e-4d13-92a5-0ef22f842945"),
    ],
)
def test_uuid_run_ids_are_kept(run_id: str, expected: str) -> None:
    assert openlineage_run_id(run_id) == expected


def test_other_run_ids_map_to_a_stable_name_based_uuid() -> None:
    got = openlineage_run_id("run-a")
    assert got == openlineage_run_id("run-a") != openlineage_run_id("run-b")
    assert uuid.UUID(got).version == 5


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = event
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value

    return mutate


DELETE = object()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(_set("eventTime", DELETE), "requires 'eventTime'", id="missing eventTime"),
        pytest.param(_set("eventTime", "2024-06-01"), "has to contain time", id="date only"),
        pytest.param(_set("eventType", "DONE"), "DONE", id="unknown event type"),
        pytest.param(_set("run.runId", "run-1"), "invalid Run", id="run id not a UUID"),
        pytest.param(_set("job.name", 42), "expected str", id="wrong type"),
        pytest.param(_set("job.owner", "x"), r"\['owner'\] are not in Job", id="unknown property"),
        pytest.param(
            _set("outputs.0.outputFacets.outputStatistics.rowCount", "2"), "expected int",
            id="row count as text",
        ),
        pytest.param(
            _set("run.facets.tags._schemaURL", "https://example.com/Tags.json"),
            "no RunFacet with schema", id="unknown facet schema",
        ),
        pytest.param(_set("schemaURL", "https://example.com/x.json"), "round-trip",
                     id="event schema URL"),
    ],
)  # fmt: skip
def test_invalid_events_are_rejected(
    mutate: Mutation, message: str, config: TinyConfig, database: Path
) -> None:
    events = run_events(
        config=config, run_id=RUN_ID, started_at=STARTED, finished_at=FINISHED, database=database
    )
    from openlineage.client.serde import Serde

    data = Serde.to_dict(events[1])
    parse_event(json.dumps(data))  # valid as emitted
    mutate(data)
    with pytest.raises((OpenLineageError, ValueError), match=message):
        parse_event(json.dumps(data))


def test_column_lineage_is_plain_data_too(config: TinyConfig) -> None:
    lineage = golden_column_lineage(config.sources, settings=SurvivorshipSettings())
    assert {ref.column for ref in lineage["customer_type"]} == {"类型"}
    assert {(ref.source, ref.column) for ref in lineage["name"]} == {
        ("crm", "account"),
        ("erp", "名称"),
    }
    assert all(ref.description.endswith("highest_trust") for ref in lineage["name"])
    facets = column_lineage_facets(config.sources, settings=SurvivorshipSettings())
    contact = facets["customer_contact_points"].fields["value"].inputFields
    assert sorted({i.field for i in contact}) == ["mail", "电话"]
    assert {i.transformations[0].subtype for i in contact} == {"AGGREGATION"}


@pytest.mark.parametrize(
    ("role_fields", "name_columns"),
    [(("name",), {"full_name", "recipient"}), ((), {"full_name"})],
)
def test_a_persons_order_recipient_feeds_the_golden_name(
    tmp_path: Path, role_fields: tuple[str, ...], name_columns: set[str]
) -> None:
    (tmp_path / "shop.csv").write_text("id,full_name,recipient\n", encoding="utf-8")
    raw = [
        {"name": "shop", "system": "ecommerce", "path": "shop.csv", "format": "csv",
         "record_id": "id", "fields": {"name": "full_name", "contact_name": "recipient"},
         "trust": {"default": 0.7}},
    ]  # fmt: skip
    sources = parse_sources(raw, base_dir=tmp_path)
    settings = SurvivorshipSettings(role_fields=role_fields)
    lineage = golden_column_lineage(sources, settings=settings)
    assert {ref.column for ref in lineage["name"]} == name_columns
    assert {ref.column for ref in lineage["contact_name"]} == {"recipient"}


def test_a_field_matched_on_but_never_published_is_no_golden_column(tmp_path: Path) -> None:
    (tmp_path / "hr.csv").write_text("id,full_name,dob\n", encoding="utf-8")
    raw = [
        {"name": "hr", "system": "other", "path": "hr.csv", "format": "csv", "record_id": "id",
         "fields": {"name": "full_name", "birth_date": "dob"}, "trust": {"default": 0.7}},
    ]  # fmt: skip
    sources = parse_sources(raw, base_dir=tmp_path)
    assert "birth_date" in sources[0].fields
    lineage = golden_column_lineage(sources, settings=SurvivorshipSettings())
    assert set(lineage) == {"name"}
    facets = column_lineage_facets(sources, settings=SurvivorshipSettings())
    # Only the standardised records hold it (matching reads it there).
    assert [t for t, facet in facets.items() if "birth_date" in facet.fields] == [
        "standardised_records"
    ]
    (dob,) = facets["standardised_records"].fields["birth_date"].inputFields
    assert (Path(dob.name).name, dob.field) == ("hr.csv", "dob")


# ------------------------------------------------- a lineage server (Marquez) over HTTP


class _LineageServer(ThreadingHTTPServer):
    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.received: list[tuple[str, dict[str, object]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _LineageServer

    def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, json.loads(body)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def _serve(status: int) -> Iterator[_LineageServer]:
    server = _LineageServer(status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def marquez() -> Iterator[_LineageServer]:
    yield from _serve(201)


@pytest.fixture
def broken_server() -> Iterator[_LineageServer]:
    yield from _serve(500)


@pytest.fixture
def lineage_environment() -> Iterator[None]:
    """No OpenLineage client settings during the test, and none left after it.

    The client itself copies OPENLINEAGE_URL into OPENLINEAGE__TRANSPORT__* variables
    of the process, which monkeypatch would not undo.
    """
    saved = {k: v for k, v in os.environ.items() if k.startswith("OPENLINEAGE")}
    for name in saved:
        del os.environ[name]
    yield
    for name in [k for k in os.environ if k.startswith("OPENLINEAGE")]:
        del os.environ[name]
    os.environ.update(saved)


@pytest.mark.usefixtures("lineage_environment")
def test_events_go_to_the_server_and_the_file_alike(
    config: TinyConfig, tmp_path: Path, marquez: _LineageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", marquez.url)
    path = tmp_path / OPENLINEAGE_FILE
    events = emit_run_lineage(path, config=config, run_id="run-h", started_at=STARTED, error="x")
    assert [p for p, _ in marquez.received] == ["/api/v1/lineage"] * 2
    sent = [parse_event(json.dumps(body)) for _, body in marquez.received]
    written = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [e.eventType for e in sent] == [e.eventType for e in events]
    assert [str(e.run.runId) for e in sent] == [w["run"]["runId"] for w in written]
    assert {e.job.name for e in sent} == {w["job"]["name"] for w in written}


@pytest.mark.usefixtures("lineage_environment")
def test_a_refusing_server_is_an_error_naming_it_after_the_file_is_written(
    config: TinyConfig,
    tmp_path: Path,
    broken_server: _LineageServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", broken_server.url)
    # No retries: the client's default backs off for seconds before giving up.
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", broken_server.url)
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY__TOTAL", "0")
    path = tmp_path / OPENLINEAGE_FILE
    with pytest.raises(OpenLineageError, match=r"http transport .*127\.0\.0\.1.*500"):
        emit_run_lineage(path, config=config, run_id="run-b", started_at=STARTED, error="x")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
    assert broken_server.received


@pytest.mark.usefixtures("lineage_environment")
def test_without_client_settings_only_the_file_is_written(
    config: TinyConfig, tmp_path: Path, marquez: _LineageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not configured_transport()
    path = tmp_path / OPENLINEAGE_FILE
    emit_run_lineage(path, config=config, run_id="run-f", started_at=STARTED, error="x")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
    assert marquez.received == []


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OPENLINEAGE_URL": "http://marquez:5000"}, True),
        ({"OPENLINEAGE_CONFIG": "/etc/openlineage.yml"}, True),
        ({"OPENLINEAGE__TRANSPORT__TYPE": "kafka"}, True),
        ({"OPENLINEAGE_URL": "http://marquez:5000", "OPENLINEAGE_DISABLED": "true"}, False),
        ({"OPENLINEAGE_URL": ""}, False),
    ],
)
def test_which_environments_configure_a_transport(environ: dict[str, str], expected: bool) -> None:
    assert configured_transport(environ) is expected
