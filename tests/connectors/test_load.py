"""load_source: files, formats, globs, the rows_in invariant, onboarding by config."""

from __future__ import annotations

import csv
import datetime as dt
import errno
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import yaml

from connectors import (
    CANONICAL_SCHEMA,
    ConfigError,
    FusionError,
    SchemaDriftError,
    SourceConfig,
    SourceReadError,
    load_source,
    parse_sources,
)

SAMPLE_CONFIG = Path(__file__).parents[2] / "data" / "samples" / "fusion.yaml"
MakeSource = Callable[..., SourceConfig]
WriteCsv = Callable[..., Path]


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def test_rows_in_counts_every_row_once(tmp_path: Path, make_source: MakeSource) -> None:
    content = (
        b"id,name,email,changed\n"
        b"C1,Acme,,2024-01-01T00:00:00Z\n"
        b"C2,Beta,b@x.com,2024-01-01T00:00:00Z,extra\n"
        b'"C3","Multi\nLine",,2024-01-02T00:00:00Z\n'
        b"\n"
        b"C1,Acme Ltd,,2024-03-01T00:00:00Z\n"
        b",Nobody,,\n"
        b"C5,,,\n"
        b"C6,Gamma,,not a date\n"
    ) + b"C7,\xff,,\n"
    (tmp_path / "export.csv").write_bytes(content)
    batch = load_source(
        make_source(
            fields={"name": "name", "email": "email"},
            updated_at={"column": "changed", "format": "iso"},
        )
    )
    assert batch.rows_in == 8
    assert batch.rows_in == batch.records.height + batch.quarantine.height
    assert batch.records.select("source_record_id", "row_number", "name").rows() == [
        ("C3", 3, "Multi\nLine"),
        ("C1", 4, "Acme Ltd"),
    ]
    assert batch.quarantine.select("row_number", "reason").rows() == [
        (1, "duplicate source_record_id 'C1' (kept row 4)"),
        (2, "expected 4 fields, found 5 (1 extra value after 'changed')"),
        (5, "missing record id (column 'id')"),
        (6, "none of name, email, phone, tax_id present"),
        (7, "column 'changed': 'not a date' is not a valid timestamp (format 'iso')"),
        (8, "column 'name': bytes not valid utf-8"),
    ]
    assert batch.files == ("export.csv",)


def test_glob_reads_sorted_files_and_dedups_across_them(
    tmp_path: Path, make_source: MakeSource, write_csv: WriteCsv
) -> None:
    header = ["id", "name", "changed"]
    write_csv([header, ["C1", "New", "2024-05-01T00:00:00Z"]], name="exports/2024-05.csv")
    write_csv(
        [header, ["C1", "Old", "2024-04-01T00:00:00Z"], ["C2", "B", ""]], name="exports/2024-04.csv"
    )
    write_csv([header, ["C9", "ignored", ""]], name="exports/readme.txt")
    batch = load_source(
        make_source(path="exports/*.csv", updated_at={"column": "changed", "format": "iso"})
    )
    assert batch.files == ("exports/2024-04.csv", "exports/2024-05.csv")
    assert batch.records.select("source_record_id", "name", "source_file").rows() == [
        ("C2", "B", "exports/2024-04.csv"),
        ("C1", "New", "exports/2024-05.csv"),
    ]
    assert batch.quarantine.select("source_file", "row_number", "reason").rows() == [
        (
            "exports/2024-04.csv",
            1,
            "duplicate source_record_id 'C1' (kept row 1 of exports/2024-05.csv)",
        )
    ]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("missing.csv", "source 'crm': file not found: {base}/missing.csv"),
        ("exports/*.csv", "source 'crm': no file matches '{base}/exports/*.csv'"),
    ],
)
def test_no_file_is_a_read_error(
    tmp_path: Path, make_source: MakeSource, path: str, message: str
) -> None:
    with pytest.raises(SourceReadError) as info:
        load_source(make_source(path=path))
    assert str(info.value) == message.format(base=tmp_path.as_posix())


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("parquet", b"PAR1 this is not parquet"),
        ("excel", b"PK\x03\x04 this is not a workbook"),
    ],
)
def test_unreadable_file_names_source_and_file(
    tmp_path: Path, make_source: MakeSource, fmt: str, content: bytes
) -> None:
    (tmp_path / "export.bin").write_bytes(content)
    with pytest.raises(SourceReadError, match=r"^source 'crm': cannot read .*/export\.bin: "):
        load_source(make_source(path="export.bin", format=fmt))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            OSError(errno.ENOSPC, "No space left on device"),
            "No space left on device (the disk is full: free space and run again)",
            id="disk-full",
        ),
        pytest.param(
            PermissionError(errno.EACCES, "Permission denied"),
            "Permission denied (check the file's permissions)",
            id="permission",
        ),
        pytest.param(OSError(errno.EIO, "Input/output error"), "Input/output error", id="io"),
    ],
)
def test_os_errors_while_reading_name_source_and_file(
    tmp_path: Path,
    make_source: MakeSource,
    monkeypatch: pytest.MonkeyPatch,
    error: OSError,
    expected: str,
) -> None:
    """Connectors only read; an OS failure there is one line naming source, file and cause."""
    (tmp_path / "export.csv").write_bytes(b"id,name\nC1,Acme\n")

    def fail(self: Path) -> bytes:
        raise error

    monkeypatch.setattr(Path, "read_bytes", fail)
    with pytest.raises(SourceReadError) as info:
        load_source(make_source())
    where = (tmp_path / "export.csv").as_posix()
    assert str(info.value) == f"source 'crm': cannot read {where}: {expected}"


@pytest.mark.parametrize("fmt", ["csv", "parquet", "excel"])
def test_a_file_without_data_rows_is_a_source_error_unless_allowed(
    tmp_path: Path, make_source: MakeSource, fmt: str
) -> None:
    """Loading an empty export as is would retire every customer of the source."""
    path = tmp_path / f"export.{fmt}"
    empty = pl.DataFrame(schema={"id": pl.String, "name": pl.String})
    if fmt == "parquet":
        empty.write_parquet(path)
    elif fmt == "excel":
        empty.write_excel(path)
    else:
        path.write_bytes(b"id,name\r\n\r\n")
    with pytest.raises(SourceReadError) as info:
        load_source(make_source(path=path.name, format=fmt))
    assert str(info.value) == (
        f"source 'crm': {path.as_posix()} has no data rows (empty or header only); "
        "set 'allow_empty: true' on the source if it may be empty"
    )
    batch = load_source(make_source(path=path.name, format=fmt, allow_empty=True))
    assert (batch.rows_in, batch.records.height, batch.files) == (0, 0, (path.name,))


def test_one_empty_file_of_a_glob_is_named(
    tmp_path: Path, make_source: MakeSource, write_csv: WriteCsv
) -> None:
    write_csv([["id", "name"], ["C1", "Acme"]], name="exports/2024-04.csv")
    write_csv([["id", "name"]], name="exports/2024-05.csv")
    with pytest.raises(SourceReadError, match=r"^source 'crm': .*/exports/2024-05\.csv has no"):
        load_source(make_source(path="exports/*.csv"))
    batch = load_source(make_source(path="exports/*.csv", allow_empty=True))
    assert batch.records["source_record_id"].to_list() == ["C1"]


def test_allow_empty_is_absent_from_the_json_while_off(make_source: MakeSource) -> None:
    """Configuration hashes of existing configs stay as they were."""
    assert "allow_empty" not in make_source().model_dump(mode="json")
    allowed = make_source(allow_empty=True)
    assert allowed.model_dump(mode="json")["allow_empty"] is True
    assert SourceConfig.model_validate_json(allowed.model_dump_json()) == allowed


@pytest.mark.parametrize("fmt", ["parquet", "excel"])
def test_typed_formats_load_through_the_same_mapping(
    tmp_path: Path, make_source: MakeSource, fmt: str
) -> None:
    frame = pl.DataFrame(
        {
            "id": ["K1", "K2", "K1"],
            "firma": ["Acme GmbH", None, "Acme AG"],
            "stufe": ["GOLD", "SILBER", "GOLD"],
            "geaendert": ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z"],
        }
    )
    path = tmp_path / f"export.{fmt}"
    if fmt == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_excel(path, worksheet="Kunden")
    source = make_source(
        path=path.name,
        format=fmt,
        fields={"name": "firma", "tier": {"column": "stufe", "map": {"GOLD": "S", "SILBER": "A"}}},
        updated_at={"column": "geaendert", "format": "iso"},
    )
    batch = load_source(source)
    assert batch.records.select("source_record_id", "row_number", "name", "tier").rows() == [
        ("K1", 3, "Acme AG", "S")
    ]
    assert batch.quarantine.select("row_number", "reason").rows() == [
        (1, "duplicate source_record_id 'K1' (kept row 3)"),
        (2, "none of name, email, phone, tax_id present"),
    ]
    assert json.loads(batch.quarantine["raw"][1])["stufe"] == "SILBER"


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "cp1252"])
def test_new_export_is_onboarded_by_config_alone(
    tmp_path: Path, write_csv: WriteCsv, encoding: str
) -> None:
    """A partner's export with its own headers, codec, delimiter and tier codes."""
    write_csv(
        [
            ["Kundennr", "Firmenname", "Ansprechpartner", "E-Mail", "Stufe", "Geändert", "Größe"],
            [
                "P-1",
                "Müller Bäckerei GmbH",
                "Jürgen Weiß",
                "JW@Mueller.de ",
                "GOLD",
                "05.01.2024 10:00",
                "",
            ],
            ["P-2", "", "Zoë Faure", "zoe@faure.fr", "BRONZE", "01.07.2024 08:30", "12"],
            ["P-3", "Café Crème", "", "", "PLATIN", "", ""],
        ],
        name="partner/kunden.csv",
        encoding=encoding,
        delimiter=";",
    )
    config = {
        "name": "partner_de",
        "system": "other",
        "path": "partner/kunden.csv",
        "format": "csv",
        "encoding": encoding,
        "delimiter": ";",
        "default_country": "DE",
        "record_id": "Kundennr",
        "updated_at": {
            "column": "Geändert",
            "format": "%d.%m.%Y %H:%M",
            "timezone": "Europe/Berlin",
        },
        "fields": {
            "customer_type": {"column": "Firmenname", "present": "company", "absent": "person"},
            "name": {"columns": ["Firmenname", "Ansprechpartner"]},
            "contact_name": "Ansprechpartner",
            "email": "E-Mail",
            "country": {"constant": "DE"},
            "tier": {"column": "Stufe", "map": {"GOLD": "S", "SILBER": "A", "BRONZE": "B"}},
        },
        "trust": {"default": 0.6, "email": 0.9},
    }
    source = parse_sources([config], base_dir=tmp_path)[0]
    batch = load_source(source)
    assert batch.records.schema == CANONICAL_SCHEMA
    got = batch.records.select(
        "source_record_id",
        "customer_type",
        "name",
        "contact_name",
        "email",
        "country",
        "tier",
        "source_updated_at",
    ).rows()
    assert got == [
        (
            "P-1",
            "company",
            "Müller Bäckerei GmbH",
            "Jürgen Weiß",
            "JW@Mueller.de",
            "DE",
            "S",
            utc(2024, 1, 5, 9),
        ),
        (
            "P-2",
            "person",
            "Zoë Faure",
            "Zoë Faure",
            "zoe@faure.fr",
            "DE",
            "B",
            utc(2024, 7, 1, 6, 30),
        ),
    ]
    assert batch.quarantine.select(
        "source_system", "source_file", "row_number", "reason"
    ).rows() == [("partner_de", "partner/kunden.csv", 3, "column 'Stufe': unmapped value 'PLATIN'")]
    assert json.loads(batch.records["source_columns"][1]) == {
        "customer_type": "Firmenname",
        "name": "Ansprechpartner",
        "contact_name": "Ansprechpartner",
        "email": "E-Mail",
        "country": "(constant)",
        "tier": "Stufe",
    }
    assert source.trust_for("email") == 0.9


def sample_sources(base_dir: Path) -> dict[str, SourceConfig]:
    doc = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    return {s.name: s for s in parse_sources(doc["sources"], base_dir=base_dir)}


def sample_header(name: str, *, encoding: str) -> list[str]:
    """The header row of a bundled sample export (its later rows may not decode)."""
    first_line = (SAMPLE_CONFIG.parent / name).read_bytes().split(b"\n", 1)[0]
    return next(csv.reader([first_line.decode(encoding).rstrip("\r")]))


def test_sample_config_maps_erp_export(tmp_path: Path, write_csv: WriteCsv) -> None:
    header = sample_header("erp_customers.csv", encoding="gb18030")
    row = [
        "E0001",
        "上海星辰科技有限公司",
        "企业",
        "张伟",
        "zhang@xingchen.cn",
        "13800138000",
        "浦东新区世纪大道100号",
        "200120",
        "上海",
        "上海",
        "中国",
        "软件",
        "50-249人",
        "91310000MA1FL4XQ3B",
        "VIP",
        "2024/03/15 14:30",
    ]
    write_csv(
        [header, row, ["E0002", *row[1:14], "钻石", row[15]]],
        name="erp_customers.csv",
        encoding="gb18030",
    )
    batch = load_source(sample_sources(tmp_path)["erp"])
    record = batch.records.row(0, named=True)
    assert {
        k: record[k] for k in ("customer_type", "country", "industry", "size_band", "tier")
    } == {
        "customer_type": "company",
        "country": "CN",
        "industry": "Software",
        "size_band": "50-249",
        "tier": "S",
    }
    assert record["source_updated_at"] == utc(2024, 3, 15, 6, 30)
    assert batch.quarantine.select("row_number", "reason").rows() == [
        (2, "column '客户等级': unmapped value '钻石'")
    ]


def test_sample_config_maps_nested_ecommerce_export(tmp_path: Path) -> None:
    lines = [
        {
            "id": "O-1",
            "updated_ms": 1710484200000,
            "customer": {
                "type": "business",
                "company": "星辰科技",
                "name": "张伟",
                "email": "zw@xc.cn",
                "phone": "+8613800138000",
            },
            "address": {
                "line1": "世纪大道100号",
                "postcode": "200120",
                "city": "上海",
                "province": "上海",
                "country": "CN",
            },
        },
        {
            "id": "O-2",
            "updated_ms": 1710484200000,
            "customer": {"type": "individual", "name": "Li Na"},
        },
    ]
    (tmp_path / "ecommerce_customers.jsonl").write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8"
    )
    batch = load_source(sample_sources(tmp_path)["ecommerce"])
    assert batch.records.select(
        "source_record_id", "customer_type", "name", "contact_name", "city"
    ).rows() == [
        ("O-1", "company", "星辰科技", "张伟", "上海"),
        ("O-2", "person", "Li Na", "Li Na", None),
    ]
    assert json.loads(batch.records["source_columns"][1])["name"] == "customer.name"
    assert batch.records["source_updated_at"].to_list() == [utc(2024, 3, 15, 6, 30)] * 2


@pytest.mark.parametrize("error", [ConfigError, SchemaDriftError, SourceReadError])
def test_errors_derive_from_fusion_error(error: type[Exception]) -> None:
    """The CLI turns any FusionError into a one-line reason; nothing else."""
    assert issubclass(error, FusionError)
    assert not issubclass(error, (ValueError, KeyError, OSError))


# Each seeded defect of the sample generator and the words our reason uses for it.
DEFECT_REASONS = {
    "broken_json": "invalid JSON: ",
    "duplicate_id": "duplicate source_record_id ",
    "impossible_date": "is not a valid timestamp",
    "invalid_encoding": "bytes not valid gb18030",
    "missing_id": "missing record id",
    "no_name_email_phone": "none of name, email, phone, tax_id present",
    "unmapped_code": "unmapped value",
    "wrong_field_count": "fields, found",
}


def test_bundled_samples_match_their_ground_truth() -> None:
    """Known truth: exactly the seeded bad rows are quarantined, for the seeded reason."""
    truth_dir = SAMPLE_CONFIG.parent / "truth"
    batches = [load_source(s) for s in sample_sources(SAMPLE_CONFIG.parent).values()]
    quarantine = pl.concat([b.quarantine for b in batches])
    records = pl.concat([b.records for b in batches])
    invalid = pl.read_csv(truth_dir / "invalid_rows.csv", infer_schema_length=0)
    expected = {
        (row["source_system"], row["source_file"], int(row["row_number"])): row["defect"]
        for row in invalid.iter_rows(named=True)
    }
    got = {
        (row["source_system"], row["source_file"], row["row_number"]): row["reason"]
        for row in quarantine.iter_rows(named=True)
    }
    assert got.keys() == expected.keys()
    wrong = {k: (expected[k], got[k]) for k in got if DEFECT_REASONS[expected[k]] not in got[k]}
    assert wrong == {}
    valid = pl.read_csv(truth_dir / "records.csv", infer_schema_length=0)
    assert sorted(records.select("source_system", "source_record_id").rows()) == sorted(
        valid.select("source_system", "source_record_id").rows()
    )
    assert sum(b.rows_in for b in batches) == records.height + quarantine.height
