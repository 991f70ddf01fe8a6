"""The ``risk:`` section of a public-use configuration: risk measured before and after local
suppression, the suppressions in ``export_notes.csv``, nothing recoverable from a twin column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survmig.data import KEY, Dataset, synthetic_dataset
from survmig.data.labelled import write_tables
from survmig.data.public import load_config, public_use
from survmig.data.risk import frequencies
from survmig.errors import SurvmigError


@pytest.fixture(scope="module")
def demo_form(tmp_path_factory):
    from survmig.data import FormMetadata
    from survmig.demo.run import spec_path
    from survmig.xlsform import build

    out = tmp_path_factory.mktemp("risk_form") / "demo.xlsx"
    build(spec_path(), out, validate=False)
    return FormMetadata.from_xlsform(out)


@pytest.fixture
def survey(demo_form, tmp_path):
    ds = synthetic_dataset(demo_form, 150, seed=8)
    tables = {lv: ds.table(lv).copy() for lv in ds.levels}
    m = tables["members"]
    m["age"] = m["age_reported"] = m["age_reported"].fillna(30)  # age_reported carries age
    m["cc_country_birth"] = m["cc_country_birth"].fillna("MAR")  # the native-born
    m.loc[m.index[:2], "age_reported"] = m.loc[m.index[:2], "age"] = 95  # two of 90+
    ds = Dataset(tables, demo_form)
    hh = ds.table(ds.root)
    rng = np.random.default_rng(1)
    pd.DataFrame({KEY: hh[KEY], "w": rng.uniform(20, 80, len(hh))}).to_csv(
        tmp_path / "weights.csv", index=False
    )
    return ds


def _config(tmp_path, extra: str = "") -> dict:
    cfg = tmp_path / "public.yaml"
    cfg.write_text(
        "age_groups:\n  age: {breaks: [0, 15, 25, 40, 65, 90]}\n"
        "risk:\n  keys: [sex, age, cc_country_birth]\n  k: 3\n  weight: w\n"
        "  weight_file: weights.csv\n  importance: [cc_country_birth, sex, age]\n"
        "  sensitive: [relationship]\n" + extra
    )
    return load_config(cfg)


def test_public_use_file_is_k_anonymous_and_says_so(survey, tmp_path):
    pub, log = public_use(survey, _config(tmp_path))
    before = [line for line in log if line.startswith("disclosure risk before")]
    after = [line for line in log if line.startswith("disclosure risk after")]
    assert before and after and "l-diversity of relationship" in " ".join(after)
    assert "0 violate 3-anonymity in the sample" in after[0]
    assert "0 violate" not in before[0]
    keys = ["sex", "age", "cc_country_birth"]
    m = pub.table("members")
    fk, _ = frequencies(m, keys)
    assert fk.min() >= 3
    # age goes first (least important); the suppressed ages are gone from age_reported too (it
    # carries the same grouped value)
    suppressed_age = m["age"].isna()
    assert suppressed_age.any() and m["age_reported"][suppressed_age].isna().all()
    write_tables(pub, tmp_path / "pub", ("csv",))
    text = " ".join(pd.read_csv(tmp_path / "pub" / "export_notes.csv")["note"])
    assert "local suppression" in text and "disclosure risk before suppression" in text
    orig = survey.table("members")
    n_sup = sum(int((m[k].isna() & orig[k].notna()).sum()) for k in keys)
    counted = sum(
        int(line.split("local suppression: ")[1].split(" ")[0])
        for line in log
        if "local suppression" in line
    )
    assert counted == n_sup > 0


def test_measure_only_and_bad_configurations(survey, tmp_path):
    pub, log = public_use(survey, _config(tmp_path, "  suppress: false\n"))
    assert not any("local suppression" in line for line in log)
    assert pub.table("members")["sex"].notna().sum() == survey.table("members")["sex"].notna().sum()
    cfg = _config(tmp_path)
    cfg["risk"]["keys"] = ["sex", "no_such"]
    with pytest.raises(SurvmigError, match="no_such"):
        public_use(survey, cfg)
    cfg = _config(tmp_path)
    cfg["risk"]["k"] = 1
    with pytest.raises(SurvmigError, match="at least 2"):
        public_use(survey, cfg)
    cfg = _config(tmp_path)
    cfg["risk"]["weight"] = "nope"
    with pytest.raises(SurvmigError, match="nope"):
        public_use(survey, cfg)
