"""Checks, labelled files, the ≥500-household round trip, codebooks (DDI 2.5 order) and public use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from lxml import etree

from survmig.data import (
    KEY,
    PARENT_KEY,
    Dataset,
    FormMetadata,
    read_export,
    synthetic_dataset,
    write_central_export,
    write_kobo_export,
    write_tables,
)
from survmig.data.checks import check_dataset
from survmig.data.codebook import codebook_ddi, codebook_html
from survmig.data.labelled import string_code_map
from survmig.data.public import load_config, public_use
from survmig.errors import SurvmigError

ROOT = Path(__file__).resolve().parents[2]


def _edit(ds: Dataset, level: str, row: int, **values) -> Dataset:
    tables = {lv: ds.table(lv).copy() for lv in ds.levels}
    for col, value in values.items():
        tables[level].loc[row, col] = value
    return Dataset(tables, ds.metadata)


def _with_variables(meta: FormMetadata, **changes) -> FormMetadata:
    """``meta`` with some variables' fields replaced: ``age={"constraint": "..."}``."""
    variables = [
        dataclasses.replace(v, **changes[v.name]) if v.name in changes else v
        for v in meta.variables.values()
    ]
    return FormMetadata(
        title=meta.title,
        form_id=meta.form_id,
        version=meta.version,
        default_language=meta.default_language,
        languages=meta.languages,
        levels=list(meta.levels.values()),
        variables=variables,
        choices=meta.choices,
    )


def test_checks_find_each_planted_problem(small):
    assert check_dataset(small).problems == []
    person = small.table("person")
    adult = int(np.flatnonzero((person["age"] >= 15).to_numpy(dtype=bool, na_value=False))[0])
    child = int(np.flatnonzero((person["age"] < 15).to_numpy(dtype=bool, na_value=False))[0])
    bad = _edit(small, "person", adult, sex=3, age=130, activities="job fly")
    bad = _edit(bad, "person", child, earnings=10.0)
    report = check_dataset(bad)
    found = {(p.check, p.column, p.key) for p in report.problems}
    k_adult, k_child = person.loc[adult, KEY], person.loc[child, KEY]
    assert ("choice", "sex", k_adult) in found
    assert ("constraint", "age", k_adult) in found
    assert ("choice", "activities", k_adult) in found
    assert ("relevant", "earnings", k_child) in found
    assert all(p.level == "person" for p in report.problems)
    # a household whose roster is one row short of hh_size, and a required answer removed
    hh = small.table("household")
    bad = _edit(small, "household", 0, hh_size=int(hh.loc[0, "hh_size"]) + 1, region=pd.NA)
    found = {(p.check, p.column, p.key) for p in check_dataset(bad).problems}
    assert ("repeat_count", None, hh.loc[0, KEY]) in found
    assert ("required", "region", hh.loc[0, KEY]) in found


def test_checks_emigrant_rows_where_not_asked_and_not_checked(small):
    hh = small.table("household")
    em = small.table("emigrant")
    key = em[PARENT_KEY].iloc[0]
    row = int(np.flatnonzero(hh[KEY].to_numpy() == key)[0])
    bad = _edit(small, "household", row, any_abroad=2)
    problems = [p for p in check_dataset(bad).problems if p.level == "emigrant"]
    assert problems and problems[0].check == "relevant" and problems[0].key == key
    meta = small.metadata
    meta2 = _with_variables(meta, age={"constraint": ". <= now()"})
    report = check_dataset(Dataset({lv: small.table(lv) for lv in small.levels}, meta2))
    [skipped] = report.not_checked
    assert (skipped.column, skipped.check, skipped.expression) == (
        "age",
        "constraint",
        ". <= now()",
    )


def _labelled_round_trip(ds: Dataset, tmp: Path) -> None:
    """Write .sav and .dta; every value comes back, every label is the form's."""
    meta = ds.metadata
    write_tables(ds, tmp / "out", ("sav", "dta"), lang="fr")
    for fmt in ("sav", "dta"):
        d = tmp / f"only_{fmt}"
        d.mkdir()
        for level in ds.levels:
            (d / f"{level}.{fmt}").write_bytes((tmp / "out" / f"{level}.{fmt}").read_bytes())
        back = read_export(d, meta)
        for level in ds.levels:
            a, b = ds.table(level), back.table(level)
            assert list(a.columns) == list(b.columns)
            for col in a.columns:
                pd.testing.assert_series_equal(
                    a[col], b[col], check_dtype=False, check_names=False, obj=f"{fmt} {level}.{col}"
                )
    for level in ds.levels:
        _, sav = pyreadstat.read_sav(str(tmp / "out" / f"{level}.sav"), metadataonly=True)
        _, dta = pyreadstat.read_dta(str(tmp / "out" / f"{level}.dta"), metadataonly=True)
        for var in meta.data_variables(level):
            if var.kind != "question" or var.name not in ds.table(level).columns:
                continue
            label = meta.label(var, "fr") or var.name
            assert sav.column_names_to_labels[var.name] == label[:256]
            if len(var.name) <= 32:
                assert dta.column_names_to_labels[var.name].rstrip() == label[:80].rstrip()
            if var.type == "select_one":
                texts = meta.value_labels(var, "fr")
                if meta.is_string_coded(var):
                    assert sav.variable_value_labels[var.name] == texts
                    mapping = string_code_map(meta, var)
                    expected = {mapping[c]: t for c, t in texts.items()}
                    got = {
                        ("-8" if k == "a" else "-9" if k == "b" else k): v
                        for k, v in dta.variable_value_labels.get(var.name, {}).items()
                    }
                    assert {str(k): v for k, v in got.items()} == {
                        str(k): v for k, v in expected.items()
                    }
                else:
                    expected = {
                        **meta.special_labels("fr"),
                        **{int(c): t for c, t in texts.items()},
                    }
                    assert {
                        int(k): v for k, v in sav.variable_value_labels[var.name].items()
                    } == expected
            if var.type in ("integer", "decimal") and var.name in sav.missing_ranges:
                assert {r["lo"] for r in sav.missing_ranges[var.name]} == {-8.0, -9.0}


def test_labelled_files_keep_values_and_labels(small, tmp_path):
    _labelled_round_trip(small, tmp_path)
    _, meta = pyreadstat.read_dta(str(tmp_path / "out" / "person.dta"), metadataonly=True)
    assert meta.variable_value_labels["age"]["a"] == "Ne sait pas"


def _standard_form() -> Path | None:
    forms = sorted((ROOT / "xlsform").glob("*household*.xlsx"), key=lambda p: p.stat().st_size)
    return forms[-1] if forms else None


@pytest.mark.parametrize("which", ["test-form", "standard-household"])
def test_round_trip_500_households(which, form, tmp_path):
    """Central and Kobo shapes -> import -> .sav/.dta -> pyreadstat: every value and label unchanged."""
    if which == "test-form":
        meta = form
    else:
        path = _standard_form()
        assert path is not None, "xlsform/ has no compiled household questionnaire"
        meta = FormMetadata.from_xlsform(path)
    ds = synthetic_dataset(meta, 500, seed=5)
    assert len(ds.table(meta.root)) == 500 and all(len(ds.table(lv)) > 0 for lv in ds.levels)
    # the generator follows skip logic, choice lists and repeat counts exactly; a constraint it cannot
    # meet (e.g. one tied to another question's answer) may leave a required answer empty
    assert {p.check for p in check_dataset(ds).problems} <= {"required"}
    central = read_export(write_central_export(ds, meta, tmp_path / "central.zip"), meta)
    kobo = read_export(write_kobo_export(ds, meta, tmp_path / "kobo.xlsx"), meta, timezone="UTC")
    for back in (central, kobo):
        for level in ds.levels:
            b = back.table(level).drop(
                columns=["SubmissionID", "SubmissionStatus", "DeploymentVersion"], errors="ignore"
            )
            pd.testing.assert_frame_equal(ds.table(level), b, check_dtype=False)
    _labelled_round_trip(central, tmp_path)


def test_codebook_html(small):
    html = codebook_html(small, "person")
    assert "Date de naissance" in html and "تاريخ الميلاد" in html and 'dir="rtl"' in html
    assert (
        'Universe:</b> Every <bdi class="vname">person</bdi> record where '
        '<bdi class="vname">age</bdi> “<bdi>Age</bdi>” is 15 or more and “<bdi>Paid job</bdi>” '
        '<span class="code">(job)</span> is selected at <bdi class="vname">activities</bdi> '
        "“<bdi>Activities</bdi>”" in html
    )
    assert "PII" in html


# the element order the DDI Codebook 2.5 schema requires (codebook.xsd sequences)
DDI_ORDER = {
    "codeBook": ["docDscr", "stdyDscr", "fileDscr", "dataDscr", "otherMat"],
    "stdyDscr": ["citation", "studyAuthorization", "stdyInfo", "studyDevelopment", "method", "dataAccs", "othrStdyMat", "notes"],
    "citation": ["titlStmt", "rspStmt", "prodStmt", "distStmt", "serStmt", "verStmt", "biblCit", "holdings", "notes"],
    "titlStmt": ["titl", "subTitl", "altTitl", "parTitl", "IDNo"],
    "sumDscr": ["timePrd", "collDate", "nation", "geogCover", "geogUnit", "geoBndBox", "boundPoly", "anlyUnit", "universe", "dataKind"],
    "fileTxt": ["fileName", "fileCitation", "dataFingerprint", "fileCont", "fileStrc", "dimensns", "fileType", "format", "filePlac"],
    "dimensns": ["caseQnty", "varQnty", "logRecL", "recPrCas", "recNumTot"],
    "var": ["location", "labl", "imputation", "security", "embargo", "respUnit", "anlysUnit", "qstn", "valrng", "invalrng",
            "undocCod", "universe", "TotlResp", "sumStat", "txt", "stdCatgry", "catgryGrp", "catgry", "codInstr", "verStmt",
            "concept", "derivation", "varFormat", "geoMap", "catLevel", "notes"],
    "catgry": ["catValu", "labl", "txt", "catStat", "mrow"],
    "qstn": ["preQTxt", "qstnLit", "postQTxt", "forward", "backward", "ivuInstr"],
}  # fmt: skip


def test_ddi_structure_and_frequencies(small):
    root = etree.fromstring(codebook_ddi(small, "person"))
    ns = "{ddi:codebook:2_5}"
    assert root.tag == f"{ns}codeBook" and root.get("version") == "2.5"
    for el in root.iter():
        name = etree.QName(el).localname
        if name in DDI_ORDER:
            order = DDI_ORDER[name]
            kids = [etree.QName(c).localname for c in el]
            assert all(k in order for k in kids), (name, kids)
            assert [order.index(k) for k in kids] == sorted(order.index(k) for k in kids), (
                name,
                kids,
            )
    assert root.find(f"{ns}fileDscr/{ns}fileTxt/{ns}dimensns/{ns}caseQnty").text == str(
        len(small.table("person"))
    )
    sex = next(v for v in root.iter(f"{ns}var") if v.get("name") == "sex")
    freqs = {
        c.find(f"{ns}catValu").text: int(c.find(f"{ns}catStat").text)
        for c in sex.iter(f"{ns}catgry")
    }
    counts = small.table("person")["sex"].value_counts()
    assert freqs == {
        "1": int(counts.get(1, 0)),
        "2": int(counts.get(2, 0)),
        "-9": int(counts.get(-9, 0)),
    }
    assert [q.find(f"{ns}qstnLit").text for q in sex.iter(f"{ns}qstn")] == ["Sex", "Sexe", "الجنس"]
    refused = next(c for c in sex.iter(f"{ns}catgry") if c.find(f"{ns}catValu").text == "-9")
    assert refused.get("missing") == "Y"


def test_public_use(small, tmp_path):
    cfg = tmp_path / "public.yaml"
    cfg.write_text("top_code:\n  amount: {max: 500}\nage_groups:\n  age: {breaks: [0, 15, 65]}\n")
    pub, log = public_use(small, load_config(cfg))
    person, sender = pub.table("person"), pub.table("sender")
    assert (
        "pname" not in person.columns
        and "dob" not in person.columns
        and "sender_name" not in sender.columns
    )
    assert (
        "gps" not in pub.table("household").columns
        and "deviceid" not in pub.table("household").columns
    )
    orig = small.table("sender")["amount"]
    special = orig.isin([-8, -9])
    assert (sender["amount"][~special & orig.notna()] <= 500).all()
    assert (sender["amount"][special] == orig[special]).all()
    age = small.table("person")["age"]
    groups = person["age"]
    assert (groups[(age >= 0) & (age < 15)] == 1).all() and (
        groups[(age >= 15) & (age < 65)] == 2
    ).all()
    assert (groups[age.isin([-8, -9])] == age[age.isin([-8, -9])]).all()
    # links survive anonymised keys
    assert set(person[PARENT_KEY]) <= set(pub.table("household")[KEY])
    assert not pub.table("household")[KEY].str.startswith("uuid:").any()
    write_tables(pub, tmp_path / "pub", ("sav",))
    _, meta = pyreadstat.read_sav(str(tmp_path / "pub" / "person.sav"), metadataonly=True)
    assert meta.variable_value_labels["age"][1.0] == "0–14"
    cfg.write_text("keep: [pname]\n")
    with pytest.raises(SurvmigError, match="flagged as PII"):
        public_use(small, load_config(cfg))


def test_labelled_files_with_mostly_missing_columns(small, tmp_path):
    """Columns whose first 100+ rows are missing (late-module questions) still write and read back.

    pyreadstat guessed the type of such columns from their missing cells and wrote them as text
    ("'float' object has no attribute 'encode'"); values must come back unchanged in .sav and .dta.
    """
    tables = {lv: small.table(lv).copy() for lv in small.levels}
    person = tables["person"]
    assert len(person) > 120
    head = person.index[: len(person) - 3]
    for col in ("age", "sex", "birth_country", "dob", "earnings"):
        person.loc[head, col] = pd.NA
    person.loc[person.index[-1], "age"] = -8  # a special code after the missing run
    ds = Dataset(tables, small.metadata)
    _labelled_round_trip(ds, tmp_path)
    frame, _ = pyreadstat.read_dta(str(tmp_path / "out" / "person.dta"), user_missing=True)
    assert frame["age"].iloc[-1] == "a"
    assert frame["age"].iloc[: len(head)].isna().all()


def test_writer_error_names_level_column_and_output(small, tmp_path, monkeypatch):
    real = pyreadstat.write_dta

    def fails_on_earnings(frame, path, **kwargs):
        if "earnings" in frame.columns:
            raise ValueError("simulated readstat limit")
        return real(frame, path, **kwargs)

    monkeypatch.setattr(pyreadstat, "write_dta", fails_on_earnings)
    target = tmp_path / "out"
    with pytest.raises(SurvmigError) as err:
        write_tables(small, target, ("dta",))
    text = str(err.value)
    assert "level 'person'" in text and "column 'earnings'" in text
    assert "simulated readstat limit" in text
    assert str(target / "person.dta") in text and ".out." not in text
    assert not target.exists()


@pytest.fixture(scope="module")
def demo_form(tmp_path_factory) -> FormMetadata:
    """The demo questionnaire (``age`` calculated from ``age_reported`` and ``date_of_birth``)."""
    from survmig.demo.run import spec_path
    from survmig.xlsform import build

    out = tmp_path_factory.mktemp("demo_form") / "demo.xlsx"
    build(spec_path(), out, validate=False)
    return FormMetadata.from_xlsform(out)


def test_public_use_coarsens_every_variable_carrying_the_age(demo_form, tmp_path):
    ds = synthetic_dataset(demo_form, 60, seed=3)
    tables = {lv: ds.table(lv).copy() for lv in ds.levels}
    members = tables["members"]
    # what the form's calculation gives when the date of birth is not known
    members["age"] = members["age_reported"].where(members["dob_known"] == 0, 40)
    ds = Dataset(tables, demo_form)
    reported = members["age_reported"]
    assert reported.notna().sum() > 20 and reported.isin([-8, -9]).sum() < reported.notna().sum()
    cfg = tmp_path / "public.yaml"
    cfg.write_text("age_groups:\n  age: {breaks: [0, 15, 25, 65]}\n")
    pub, log = public_use(ds, load_config(cfg))
    out = pub.table("members")
    valid = reported.notna() & ~reported.isin([-8, -9])
    expected = np.searchsorted([0, 15, 25, 65], reported[valid].astype(float), side="right")
    assert (out["age_reported"][valid].to_numpy() == expected).all()
    assert (out["age_reported"][reported.isin([-8, -9])] == reported[reported.isin([-8, -9])]).all()
    assert set(out["age"].dropna()) <= {1, 2, 3, 4, -8, -9}
    em = pub.table("emigrant_roster")["em_age"].dropna()
    assert len(em) and set(em) <= {0, 1, 2, 3, 4, -8, -9}
    assert "date_of_birth" not in out.columns
    assert any(
        "members.age_reported: grouped" in line and "calculated from it" in line for line in log
    )
    assert any(
        "emigrant_roster.em_age: grouped" in line and "concept 'age'" in line for line in log
    )
    # the release notes of every format say it too
    notes = write_tables(pub, tmp_path / "pub", ("csv",))
    said = {(n.level, n.column) for n in notes if n.note.startswith("public use:")}
    assert {("members", "age_reported"), ("emigrant_roster", "em_age")} <= said
    written = pd.read_csv(tmp_path / "pub" / "export_notes.csv")
    assert (written["column"] == "age_reported").any()


def test_public_use_links_calculations(form, small, tmp_path):
    """A calculation that passes a value through is top-coded with it; a date it uses is removed."""
    from survmig.data.public import _linked

    assert _linked(form, "hh_size")["n_persons"] == (True, "calculated from hh_size")
    cfg = tmp_path / "public.yaml"
    cfg.write_text("top_code:\n  hh_size: {max: 3}\n")
    pub, log = public_use(small, load_config(cfg))
    hh = pub.table("household")
    assert hh["n_persons"].max() <= 3 and hh["hh_size"].max() <= 3
    assert any(line.startswith("household.n_persons: ") for line in log)
    meta = _with_variables(
        form,
        age={"calculation": "int(decimal-date-time(${dob}) div 365.25)", "pii": False},
        dob={"pii": False},
    )
    cfg.write_text("age_groups:\n  age: {breaks: [0, 15, 65]}\n")
    pub, log = public_use(
        Dataset({lv: small.table(lv) for lv in small.levels}, meta), load_config(cfg)
    )
    assert "dob" not in pub.table("person").columns
    assert any(line.startswith("person.dob: removed: it carries the value of age") for line in log)
    cfg.write_text("keep: [dob]\nage_groups:\n  age: {breaks: [0, 15, 65]}\n")
    pub, log = public_use(
        Dataset({lv: small.table(lv) for lv in small.levels}, meta), load_config(cfg)
    )
    assert "dob" in pub.table("person").columns
    assert any(line.startswith("person.dob: kept as asked") for line in log)


def test_unknown_language_names_the_stored_form_and_the_languages(
    form_path, small, tmp_path, monkeypatch, run_cli
):
    """The form path is stored resolved at import, so the error still names it from elsewhere."""
    monkeypatch.chdir(form_path.parent)
    meta = FormMetadata.from_xlsform(form_path.name)
    assert meta.source == str(form_path.resolve())
    data = Dataset({lv: small.table(lv) for lv in small.levels}, meta).write(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    result = run_cli("data", "export", data, "--lang", "de", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert str(form_path.resolve()) in result.stderr
    assert "language 'de'" in result.stderr
    assert "en (English (en)), fr (Français (fr)), ar (العربية (ar))" in result.stderr
    assert not (tmp_path / "out").exists()
    # a dataset written before paths were stored resolved: say where the name comes from
    old = FormMetadata.from_dict({**meta.to_dict(), "source": form_path.name})
    with pytest.raises(SurvmigError, match=f"read from '{form_path.name}' at import") as err:
        old.language_key("de")
    assert err.value.file is None


def test_codebook_integers_and_rtl_placeholders(small):
    """Integer summaries show as integers; ${…} and Latin runs in Arabic text are isolated."""
    meta = small.metadata
    ar = "العربية (ar)"
    labels = {**meta.variables["age"].labels, ar: "ما هو عمر ${pname} (ISO code)؟"}
    meta2 = _with_variables(meta, age={"labels": labels})
    ds = Dataset({lv: small.table(lv) for lv in small.levels}, meta2)
    html = codebook_html(ds, "person", lang="ar")
    assert '<td dir="rtl">ما هو عمر <bdi>${pname}</bdi> (<bdi>ISO code</bdi>)؟</td>' in html
    assert "— <bdi>ما هو عمر <bdi>${pname}</bdi>" in html
    age = small.table("person")["age"]
    valid = age[~age.isin([-8, -9])].dropna()
    row = f"<td>{len(valid)}</td><td>{int(valid.min())}</td><td>{int(valid.max())}</td>"
    assert row in html
    assert f"<td>{valid.median():g}</td>" in html
    assert f"<td>{float(valid.max())}</td>" not in html
    # English text is left as it is (no isolation needed in left-to-right text)
    assert "<th>English (en)</th><td>Age</td>" in codebook_html(small, "person", lang="en")


def test_today_is_the_date_of_the_check(small, tmp_path, run_cli):
    """``. <= today()`` is checked (today() = the day the check runs, or the date given)."""
    import datetime

    meta = small.metadata
    meta2 = _with_variables(meta, dob={"constraint": ". <= today()"})
    ds = Dataset({lv: small.table(lv) for lv in small.levels}, meta2)
    report = check_dataset(ds)
    assert report.not_checked == [] and report.today == datetime.date.today()
    assert not [p for p in report.problems if p.column == "dob"]
    born = small.table("person")["dob"]
    cut = born.dropna().sort_values().iloc[len(born.dropna()) // 2]
    early = check_dataset(ds, today=cut.date())
    flagged = {p.key for p in early.problems if p.column == "dob" and p.check == "constraint"}
    person = small.table("person")
    assert flagged == set(person.loc[born > cut, KEY]) and flagged
    data = ds.write(tmp_path / "data")
    result = run_cli("data", "check", data)
    assert f"today() evaluated as {datetime.date.today()}" in result.stdout
    assert "not made" not in result.stdout


def test_csv_writer_error_names_the_column(small, tmp_path, monkeypatch):
    from survmig.data import labelled

    real = labelled.raw_table

    def fails_on_age(meta, level, df):
        if "age" in df.columns:
            raise ValueError("simulated encoding failure")
        return real(meta, level, df)

    monkeypatch.setattr(labelled, "raw_table", fails_on_age)
    with pytest.raises(SurvmigError, match="level 'person', column 'age'") as err:
        write_tables(small, tmp_path / "out", ("csv",))
    assert str(tmp_path / "out" / "person.csv") in str(err.value)
