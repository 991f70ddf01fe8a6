"""The report's comparison section: a suppressed group blanks its set (both groups and the
difference), so no suppressed figure comes back from a published difference."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indicators.survey import RATES, build_survey  # noqa: E402

from survmig.indicators import compute  # noqa: E402
from survmig.indicators.comparison import compare_indicators  # noqa: E402
from survmig.report import Thresholds, write_report  # noqa: E402
from survmig.report.comparison import published_comparison  # noqa: E402
from survmig.report.tables import is_suppressed, suppress  # noqa: E402


def test_suppressed_group_suppresses_the_difference(tmp_path):
    ds, spec = build_survey()
    ids = ["intention_to_migrate_share", "return_migrants_share_15plus"]
    res = compute(ds, spec, ids, rates=RATES)
    res.comparison = compare_indicators(ds, spec, ids, compare="born_in_country", reference="1")
    th = Thresholds(min_n=150)  # the foreign-born group (about 100 cases) is suppressed
    groups, contrasts = published_comparison(res, suppress(res.table, res.by, th), th)
    bad = groups[is_suppressed(groups["flag"])]
    assert len(bad) and bad["estimate"].isna().all() and bad["se"].isna().all()
    for iid in bad["indicator"].unique():
        c = contrasts[contrasts["indicator"] == iid]
        assert c["estimate"].isna().all() and c["se"].isna().all() and c["p_value"].isna().all()
        g = groups[groups["indicator"] == iid]
        assert g["estimate"].isna().all()  # the other group too
    ok = groups[~is_suppressed(groups["flag"])]
    assert np.isfinite(ok["estimate"]).all()
    for lang in ("en", "fr", "ar"):
        out = write_report(res, tmp_path / lang, th, lang=lang)
        text = out["html"].read_text()
        assert 'id="comparison"' in text and "comparison" in out


def test_sets_suppressed_for_every_group_are_named_once_not_drawn_as_blank_rows(tmp_path):
    """A set whose groups and difference are all suppressed is listed in one note under its
    indicator (in the report's language) instead of three blank rows; nothing else changes."""
    ds, spec = build_survey()
    ids = ["intention_to_migrate_share", "return_migrants_share_15plus"]
    res = compute(ds, spec, ids, rates=RATES)
    res.comparison = compare_indicators(ds, spec, ids, compare="born_in_country", reference="1")
    th = Thresholds(min_n=150)
    groups, _ = published_comparison(res, suppress(res.table, res.by, th), th)
    assert is_suppressed(groups["flag"]).any() and (~is_suppressed(groups["flag"])).any()
    notes = {"en": "Suppressed for every group", "fr": "Supprimé pour tous les groupes",
             "ar": "محجوب لجميع الفئات"}  # fmt: skip
    for lang, note in notes.items():
        text = write_report(res, tmp_path / lang, th, lang=lang)["html"].read_text()
        section = text[text.index('id="comparison"') :]
        section = section[: section.index("</section>")]
        assert note in section
        assert 'class="suppressed"' not in section  # no blank rows left
        assert 'class="num"' in section  # the published sets are still tables
