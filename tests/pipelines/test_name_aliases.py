"""A run configured with a name alias table merges 'IBM' and 'International Business Machines'.

End to end through ``fusion run`` (in process) and ``fusion explain``: the pair is
found by the ``name_alias`` rule and the explain waterfall shows the name at its
top similarity level.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.warehouse import Warehouse
from tests.pipelines.conftest import run_samples

HEADER = "id,type,name,email,phone,street,zip,city,country\n"
CRM = HEADER + (
    "C1,Company,IBM,j.smith@ibm.com,+1 212 555 0101,1 Orchard Road,10504,Armonk,US\n"
    "C2,Company,工行,service@icbc.com.cn,+86 10 6610 6114,复兴门内大街55号,100140,北京,CN\n"
    "C3,Company,Acme Trading Ltd,info@acme.com,+44 20 7946 0001,1 King Street,EC2V 8AU,London,GB\n"
    "C4,Company,Bluepeak Software GmbH,hi@bluepeak.de,+49 89 1234 5678,Leopoldstr. 1,80802,"
    "München,DE\n"
)
ERP = HEADER + (
    'E1,Company,International Business Machines Corp.,jsmith@ibm.com,+1 646 555 0101,"1 Orchard '
    'Road, Building 2",10504,Armonk,US\n'
    "E2,Company,中國工商銀行股份有限公司,services@icbc.com.cn,+86 21 6610 6114,"
    "西城区复兴门内大街55号院,100140,北京,CN\n"
    "E3,Company,Acme Trading Limited,info@acme.com,+44 20 7946 0001,1 King St,EC2V 8AU,London,GB\n"
    "E4,Company,Harbor Foods Inc.,sales@harborfoods.com,+1 415 555 0199,2 Pier Road,94111,"
    "San Francisco,US\n"
)
CONFIG = """
sources:
  - name: crm
    system: crm
    path: crm.csv
    format: csv
    record_id: id
    fields: &fields
      customer_type: {column: type, map: {Company: company}}
      name: name
      email: email
      phone: phone
      address: street
      postcode: zip
      city: city
      country: country
    trust: {default: 0.8}
  - name: erp
    system: erp
    path: erp.csv
    format: csv
    record_id: id
    fields: *fields
    trust: {default: 0.9}
matching:
  name_aliases: tables/aliases.csv
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("aliases")
    (folder / "crm.csv").write_text(CRM, encoding="utf-8")
    (folder / "erp.csv").write_text(ERP, encoding="utf-8")
    (folder / "tables").mkdir()
    (folder / "tables" / "aliases.csv").write_text(
        "alias,name\nIBM,International Business Machines\n工行,中国工商银行\n", encoding="utf-8"
    )
    (folder / "fusion.yaml").write_text(CONFIG, encoding="utf-8")
    target = folder / "warehouse"
    run_samples(target, folder / "fusion.yaml")
    return target


@pytest.mark.parametrize(("left", "right"), [("crm:C1", "erp:E1"), ("crm:C2", "erp:E2")])
def test_alias_pairs_are_merged_and_explained_at_the_top_name_level(
    warehouse: Path, left: str, right: str
) -> None:
    result = CliRunner().invoke(main, ["explain", left, right, "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "name_alias" in result.output.split("found by blocking rules:")[1].splitlines()[0]
    name_row = next(line for line in result.output.splitlines() if line.startswith("name "))
    assert name_row.split()[1] == "sim>=0.93"
    assert "(the same customer)" in result.output
    document = json.loads(
        CliRunner()
        .invoke(main, ["explain", left, right, "--warehouse", str(warehouse), "--json"])
        .output
    )
    name = next(s for s in document["steps"] if s["comparison"] == "name")
    assert name["level"] == "sim>=0.93"
    assert name["weight"] > 0
    assert document["stored"]["name_level"] == "sim>=0.93"


def test_the_run_stores_the_keyed_table_with_its_settings(warehouse: Path) -> None:
    settings = Warehouse(warehouse).read_table("run_settings")
    assert settings is not None
    matching = json.loads(settings["config_json"][0])["matching"]
    assert matching["name_aliases"]["source"] == "tables/aliases.csv"
    assert ["工行", "中国工商银行"] in matching["name_aliases"]["entries"]
    assert matching["blocking"]["rules"][-1] == "name_alias"
