"""What a translator's spreadsheet program does to the sheet, and sheets that are not the right one.

Each refusal is one line naming the file and what to do, exit status 2, nothing written.
"""

from __future__ import annotations

import pytest
import yaml
from openpyxl import load_workbook

from survmig.translations.sheet import export_sheet
from tests.translations.sheets import EXAMPLE, PT, ROOT, set_cell


def test_windows_line_breaks_become_newlines(spec, tmp_path, run_cli):
    sheet = tmp_path / "pt.xlsx"
    export_sheet(spec, sheet, ["pt"])
    set_cell(sheet, "title", PT, "Inquérito\r\naos agregados\r")
    result = run_cli("translations", "import", sheet, "-o", tmp_path / "pt.yaml")
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load((tmp_path / "pt.yaml").read_text(encoding="utf-8"))
    assert doc["texts"]["title"]["pt"] == "Inquérito\naos agregados"


def test_a_sheet_of_another_spec_is_one_line(spec, tmp_path, run_cli):
    sheet = tmp_path / "demo.xlsx"
    export_sheet(ROOT / "src" / "survmig" / "demo" / "household.yaml", sheet, ["pt"])
    set_cell(sheet, "title", PT, "Inquérito")
    out = tmp_path / "pt.yaml"
    result = run_cli("translations", "import", sheet, "-o", out, "--spec", spec)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "exported from form 'survmig_demo'" in lines[0]
    assert "not from this spec's form 'example_household'" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("PT", "write two or three lower-case letters (pt)"),
        ("pt-BR", "no region (pt, not pt-BR)"),
        ("portuguese", "write two or three lower-case letters"),
    ],
)
def test_a_language_code_the_spec_would_refuse_is_refused_at_export(
    tmp_path, run_cli, code, message
):
    out = tmp_path / "x.xlsx"
    result = run_cli("translations", "export", EXAMPLE, "--lang", code, "-o", out)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_missing_sheet_is_named_and_ods_gets_a_save_as_hint(spec, tmp_path, run_cli):
    sheet = tmp_path / "pt.xlsx"
    export_sheet(spec, sheet, ["pt"])
    wb = load_workbook(sheet)
    wb["translations"].title = "Folha1"
    wb.save(sheet)
    result = run_cli("translations", "import", sheet, "-o", tmp_path / "pt.yaml")
    assert result.exit_code == 2
    assert "no sheet 'translations':" in result.stderr
    assert "its sheets: Folha1, how to, survmig" in result.stderr
    ods = tmp_path / "pt.ods"
    ods.write_bytes(b"PK\x03\x04 not really")
    result = run_cli("translations", "import", ods, "-o", tmp_path / "pt.yaml")
    assert result.exit_code == 2 and "Excel 2007-365" in result.stderr
    assert not (tmp_path / "pt.yaml").exists()
