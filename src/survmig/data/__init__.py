"""Collected data in, labelled data and codebooks out.

Read ODK Central / KoboToolbox exports, CSV, Parquet, SPSS and Stata files against the XLSForm that
produced them; check them against the form; write labelled ``.sav``/``.dta``, Parquet, CSV, a
public-use file and codebooks (HTML and DDI Codebook 2.5).
"""

from survmig.data.dataset import Dataset, Problem
from survmig.data.exports import write_central_export, write_kobo_export
from survmig.data.form import (
    KEY,
    PARENT_KEY,
    ROOT_KEY,
    ROW_POS,
    Choice,
    FormMetadata,
    Level,
    Variable,
)
from survmig.data.labelled import write_tables
from survmig.data.readers import read_export
from survmig.data.synthetic import synthetic_dataset

__all__ = [
    "KEY",
    "PARENT_KEY",
    "ROOT_KEY",
    "ROW_POS",
    "Choice",
    "Dataset",
    "FormMetadata",
    "Level",
    "Problem",
    "Variable",
    "read_export",
    "synthetic_dataset",
    "write_central_export",
    "write_kobo_export",
    "write_tables",
]
