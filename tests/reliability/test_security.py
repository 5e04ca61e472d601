"""Security: data roots, secrets from the environment, spreadsheet- and HTML-safe output."""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
from rich.console import Console

from connectors import ConfigError, load_source, parse_sources
from connectors.secrets import EnvSecret
from pipelines.orchestration.runner import run_pipeline
from pipelines.settings import load_fusion_config
from pipelines.warehouse.sql import FORMULA_PREFIXES
from tests.reliability.conftest import fusion_cli, write_config

SECRET_VARIABLE = "FUSION_RELIABILITY_CRM_TOKEN"
SECRET = "s3cr3t-7Qx9-do-not-leak"


def entry(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "crm", "system": "crm", "path": "export.csv", "format": "csv", "record_id": "id",
        "fields": {"name": "name"}, "trust": {"default": 0.8}, **overrides,
    }  # fmt: skip


# --- source paths stay inside the data roots ------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A readable export outside the config folder, as an attacker would point at."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.csv").write_text("id,name\nX1,Top Secret\n", encoding="utf-8")
    return folder / "secret.csv"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("../elsewhere/secret.csv", "resolves to {outside}, outside the data roots ({base})"),
        ("{outside}", "resolves to {outside}, outside the data roots ({base})"),
        ("exports/../../elsewhere/secret.csv", "resolves to {outside}, outside the data roots"),
        ("exports/*/../../../elsewhere/*.csv", "climbs out with '..' after a wildcard"),
        ("link.csv", "resolves to {outside}, outside the data roots ({base})"),
        ("linked_dir/secret.csv", "resolves to {outside}, outside the data roots ({base})"),
        ("/etc/passwd", "resolves to /etc/passwd, outside the data roots ({base})"),
    ],
)
def test_source_path_cannot_escape_the_config_folder(
    tmp_path: Path, outside: Path, path: str, problem: str
) -> None:
    base = tmp_path / "config"
    base.mkdir()
    (base / "link.csv").symlink_to(outside)
    (base / "linked_dir").symlink_to(outside.parent, target_is_directory=True)
    path = path.format(outside=outside)
    with pytest.raises(ConfigError) as info:
        parse_sources([entry(path=path)], base_dir=base)
    expected = f"source 'crm': key 'path': {path!r} " + problem.format(
        outside=outside.as_posix(), base=base.as_posix()
    )
    assert str(info.value).startswith(expected)


def test_links_are_checked_again_when_files_are_read(tmp_path: Path, outside: Path) -> None:
    """A link planted after the config was validated, or matched by a glob, is refused."""
    base = tmp_path / "config"
    (base / "exports").mkdir(parents=True)
    (base / "exports" / "a.csv").write_text("id,name\nC1,Acme\n", encoding="utf-8")
    (base / "export.csv").write_text("id,name\nC1,Acme\n", encoding="utf-8")
    plain, globbed = parse_sources(
        [entry(), entry(name="shop", path="exports/*.csv")], base_dir=base
    )
    assert load_source(globbed).records.height == 1
    (base / "export.csv").unlink()
    (base / "export.csv").symlink_to(outside)
    (base / "exports" / "b.csv").symlink_to(outside)
    for source, shown in ((plain, "export.csv"), (globbed, "exports/b.csv")):
        with pytest.raises(ConfigError, match=f"^source '{source.name}': key 'path': '{shown}' "):
            load_source(source)


def test_declared_data_roots_allow_a_shared_folder(tmp_path: Path, outside: Path) -> None:
    base = tmp_path / "config"
    base.mkdir()
    source = entry(path="../elsewhere/secret.csv")
    config = write_config(base, [source], run={"data_roots": ["../elsewhere"]})
    loaded = load_fusion_config(config)
    assert load_source(loaded.sources[0]).records["name"].to_list() == ["Top Secret"]
    # A data root is not a way around the rule for its neighbours.
    config = write_config(base, [entry(path="../secret_two.csv")], run={"data_roots": ["../x"]})
    with pytest.raises(ConfigError, match="outside the data roots"):
        load_fusion_config(config)
    # Nor are data roots part of the config's JSON (machine-specific folders).
    assert "data_roots" not in loaded.sources[0].model_dump(mode="json")


def test_escape_fails_fusion_run_in_one_line(tmp_path: Path, outside: Path) -> None:
    base = tmp_path / "config"
    config = write_config(base, [entry(path="../elsewhere/secret.csv")])
    result = fusion_cli("run", "--config", str(config), "--warehouse", str(tmp_path / "wh"))
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "fusion run failed: source 'crm': key 'path': '../elsewhere/secret.csv' resolves to"
        )
    )
    assert not (tmp_path / "wh" / "golden.duckdb").exists()


# --- credentials come from the environment and never show ----------------------------------


def test_credentials_resolve_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    (source,) = parse_sources(
        [entry(credentials={"token": f"${{ENV:{SECRET_VARIABLE}}}"})], base_dir=tmp_path
    )
    assert source.credentials["token"].reveal() == SECRET
    shown = [repr(source), str(source), source.model_dump_json(), str(source.model_dump())]
    assert not [text for text in shown if SECRET in text]
    assert f"${{ENV:{SECRET_VARIABLE}}}" in source.model_dump_json()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (SECRET, "must reference an environment variable, e.g. ${ENV:CRM_API_TOKEN}"),
        (f"prefix-${{ENV:{SECRET_VARIABLE}}}", "must reference an environment variable"),
        ("${ENV:FUSION_RELIABILITY_UNSET}", "environment variable 'FUSION_RELIABILITY_UNSET'"),
        (12345, "must reference an environment variable"),
    ],
)  # fmt: skip
def test_credential_errors_name_the_key_never_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: object, message: str
) -> None:
    monkeypatch.setenv(SECRET_VARIABLE, SECRET)
    monkeypatch.delenv("FUSION_RELIABILITY_UNSET", raising=False)
    with pytest.raises(ConfigError) as info:
        parse_sources([entry(credentials={"token": value})], base_dir=tmp_path)
    text = str(info.value)
    assert text.startswith(f"source 'crm': key 'credentials.token': {message}")
    assert SECRET not in text
    assert "12345" not in text
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_env_secret_never_prints_its_value() -> None:
    secret = EnvSecret.from_reference("${ENV:T}", environ={"T": SECRET})
    assert SECRET not in f"{secret} {secret!r} {[secret]} { ({'k': secret}) }"


# --- one run over hostile values, shared by the output tests below --------------------------

HOSTILE_NAMES = {
    "H1": '=HYPERLINK("http://evil.example","click")',
    "H2": "+86 138 0013 8000",
    "H3": "-2+3",
    "H4": "@SUM(A1:A9)",
    "H5": "<script>alert('x')</script> & Co",
    "H6": "Acme [bold red]Trading[/] Ltd",
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A warehouse built from hostile names by a source whose config holds a credential."""
    folder = tmp_path_factory.mktemp("hostile")
    rows = [["id", "name", "email"]]
    rows += [[rid, name, f"{rid.lower()}@hostile.example"] for rid, name in HOSTILE_NAMES.items()]
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    (folder / "export.csv").write_text(buffer.getvalue(), encoding="utf-8")
    source = entry(
        fields={"name": "name", "email": "email"},
        credentials={"token": f"${{ENV:{SECRET_VARIABLE}}}"},
    )
    config = write_config(folder, [source])
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    logging.getLogger().addHandler(handler)
    os.environ[SECRET_VARIABLE] = SECRET
    try:
        console = Console(file=output, force_terminal=False, width=200)
        run_pipeline(config, folder / "wh", console=console)
    finally:
        del os.environ[SECRET_VARIABLE]
        logging.getLogger().removeHandler(handler)
    return folder / "wh", output.getvalue()


def test_secret_appears_in_no_output_and_no_file(hostile_run: tuple[Path, str]) -> None:
    """Not in the progress output or logs, not in any table, Parquet file, run log or event."""
    warehouse, output = hostile_run
    assert SECRET not in output
    needle = SECRET.encode()
    files = [p for p in warehouse.rglob("*") if p.is_file()]
    assert len(files) > 5
    assert [p for p in files if needle in p.read_bytes()] == []
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        config_json = con.execute("SELECT config_json FROM run_settings").fetchone()
    assert config_json is not None
    assert f"${{ENV:{SECRET_VARIABLE}}}" in config_json[0]


def test_csv_export_escapes_formula_cells_end_to_end(
    hostile_run: tuple[Path, str], tmp_path: Path
) -> None:
    warehouse, _ = hostile_run
    query = "SELECT source_record_id, value FROM field_candidates WHERE field = 'name' ORDER BY 1"
    result = fusion_cli("sql", query, "--warehouse", str(warehouse), "--format", "csv")
    assert result.returncode == 0, result.stderr
    exported = dict(list(csv.reader(io.StringIO(result.stdout)))[1:])
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        stored = dict(con.execute(query).fetchall())
    assert exported.keys() == stored.keys() == HOSTILE_NAMES.keys()
    for record_id, value in stored.items():
        if value.startswith(FORMULA_PREFIXES):
            assert exported[record_id] == "'" + value
        else:
            assert exported[record_id] == value
    assert {r for r, v in stored.items() if v.startswith(FORMULA_PREFIXES)} == {
        "H1", "H2", "H3", "H4"
    }  # fmt: skip
    # The same through --output, the file an analyst opens in a spreadsheet.
    target = tmp_path / "export.csv"
    fusion_cli(
        "sql", query, "--warehouse", str(warehouse), "--format", "csv", "--output", str(target)
    )
    assert target.read_text(encoding="utf-8") == result.stdout


def _unified_id(warehouse: Path, record_id: str) -> str:
    with duckdb.connect(str(warehouse / "golden.duckdb"), read_only=True) as con:
        row = con.execute(
            "SELECT unified_id FROM customer_xref WHERE source_record_id = ?", [record_id]
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_html_report_escapes_source_values(hostile_run: tuple[Path, str], tmp_path: Path) -> None:
    warehouse, _ = hostile_run
    page = tmp_path / "customer.html"
    unified_id = _unified_id(warehouse, "H5")
    result = fusion_cli("lineage", unified_id, "--warehouse", str(warehouse), "--html", str(page))
    assert result.returncode == 0, result.stderr
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in html


def test_terminal_report_prints_values_as_text(hostile_run: tuple[Path, str]) -> None:
    """Rich markup in a source value is shown as written, not interpreted."""
    warehouse, _ = hostile_run
    unified_id = _unified_id(warehouse, "H6")
    result = fusion_cli(
        "lineage", unified_id, "--warehouse", str(warehouse), env={"COLUMNS": "300"}
    )
    assert result.returncode == 0, result.stderr
    assert "Acme [bold red]Trading[/] Ltd" in result.stdout
