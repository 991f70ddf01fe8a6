"""Publication outputs for indicator results: Excel, CSV, charts (PNG/SVG) and one HTML report.

Public API::

    Thresholds(cv_caution=0.165, cv_suppress=0.333, min_n=30, secondary="suppress")
    flag_reliability(table, thresholds) -> DataFrame          # adds `flag`
    publication_table(results, thresholds) -> DataFrame       # suppressed values blanked, flag kept
    write_excel(results, path, thresholds)                    # one sheet per indicator, notes on top
    write_csv(results, path, thresholds)
    write_json(results, path, thresholds)
    plot_indicator(results, indicator_id, path)               # .png or .svg, estimates with CI bars
    write_html(results, path, thresholds)                     # self-contained (inline SVG charts)
    write_report(results, directory, thresholds, lang="en", title=, agency=, date=,
                 methodology=from_design(design)) -> dict  # all of the above, atomically

Every file is written atomically (a temporary file renamed on success).
"""

from survmig.report.charts import plot_indicator
from survmig.report.html import write_html, write_report
from survmig.report.methodology import Methodology, from_design
from survmig.report.tables import (
    FLAG_CAUTION,
    FLAG_NO_VARIATION,
    FLAG_SUPPRESSED,
    Thresholds,
    flag_reliability,
    is_suppressed,
    publication_table,
    write_csv,
    write_json,
)
from survmig.report.workbook import write_excel

__all__ = [
    "FLAG_CAUTION",
    "FLAG_NO_VARIATION",
    "FLAG_SUPPRESSED",
    "Methodology",
    "Thresholds",
    "from_design",
    "flag_reliability",
    "is_suppressed",
    "plot_indicator",
    "publication_table",
    "write_csv",
    "write_excel",
    "write_json",
    "write_html",
    "write_report",
]
