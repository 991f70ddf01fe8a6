"""Indicator tables as SDMX (SDMX-CSV 1.0 and SDMX-ML 2.1 structure-specific data), with ``sdmx1``.

The data structure follows the SDG global data structure definition (``SDG_DSD``, IAEG-SDGs /
UNSD) where it has a concept: dimensions ``FREQ``, ``REPORTING_TYPE``, ``SERIES``, ``REF_AREA``
(M49 numeric code), ``SEX`` (``M``, ``F``, ``_T``), ``AGE`` (``_T``), ``TIME_PERIOD``; observation
attributes ``UNIT_MEASURE``, ``UNIT_MULT``, ``OBS_STATUS``, ``LOWER_BOUND``, ``UPPER_BOUND``,
``COMMENT_OBS``. What the SDG structure has no concept for is added under names of our own,
documented in ``docs/sdmx.md``: dimensions ``SUBNATIONAL`` (our region domains, ``_T`` for the
nation) and ``BREAKDOWN`` (the category of a distribution: a country of destination or birth, a
remittance use…, ``_T`` for none); attributes ``STANDARD_ERROR``, ``CONF_STATUS`` (SDMX
cross-domain: ``F`` free, ``C`` confidential) and ``SURVMIG_INDICATOR`` (the catalogue id).

Series: ``sdg_10_7_1`` and its breakdowns are the SDG series ``SL_EMP_RCOST_MP`` (recruitment cost
borne by the employee as a proportion of monthly earnings); the other catalogue indicators have no
SDG series and get ``SURVMIG_<ID>``. Shares are written in percent (``UNIT_MEASURE=PT``) as the SDG
database does; counts as ``NUMBER``. The reliability flag of the publication table becomes
``OBS_STATUS`` (``A`` normal, ``U`` low reliability) and a suppressed estimate is written without
its value, SE and bounds (``OBS_STATUS=M``, ``CONF_STATUS=C``): nothing suppressed is published.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_dir, check_output_dir

AGENCY = "SURVMIG"
#: catalogue indicator -> SDG series code (SDG global DSD code list CL_SERIES)
SDG_SERIES = {
    "sdg_10_7_1": "SL_EMP_RCOST_MP",
    "sdg_10_7_1_by_sex": "SL_EMP_RCOST_MP",
    "sdg_10_7_1_by_destination": "SL_EMP_RCOST_MP",
}
#: catalogue unit -> (UNIT_MEASURE code, factor applied to estimate, SE and bounds)
UNITS = {"share": ("PT", 100.0), "persons": ("NUMBER", 1.0), "households": ("NUMBER", 1.0)}
DIMENSIONS = (
    "FREQ",
    "REPORTING_TYPE",
    "SERIES",
    "REF_AREA",
    "SEX",
    "AGE",
    "SUBNATIONAL",
    "BREAKDOWN",
)
ATTRIBUTES = (
    "UNIT_MEASURE",
    "UNIT_MULT",
    "OBS_STATUS",
    "CONF_STATUS",
    "LOWER_BOUND",
    "UPPER_BOUND",
    "STANDARD_ERROR",
    "COMMENT_OBS",
    "SURVMIG_INDICATOR",
)
_SEX = {"1": "M", "male": "M", "m": "M", "2": "F", "female": "F", "f": "F"}


def series_code(indicator: str) -> str:
    """The SDG series of a catalogue indicator, or ``SURVMIG_<ID>``."""
    return SDG_SERIES.get(indicator, "SURVMIG_" + indicator.upper())


def _text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def _code(values: pd.Series) -> pd.Series:
    """An SDMX id from free text (letters, digits, ``_``; ``_T`` when empty)."""
    text = _text(values).str.replace(r"[^A-Za-z0-9_@$-]+", "_", regex=True).str.strip("_")
    return text.where(text != "", "_T")


def observations(table: pd.DataFrame, ref_area: str, time_period: str) -> pd.DataFrame:
    """One row per observation: dimension codes, value and attributes (the SDMX-CSV columns)."""
    need = {"indicator", "estimate", "se", "ci_low", "ci_high"}
    missing = need - set(table.columns)
    if missing:
        raise SurvmigError(
            f"the indicator table lacks {', '.join(sorted(missing))}",
            where="sdmx",
            hint="give the indicators.csv of a report (survmig estimate --indicators … --report)",
        )
    t = table.reset_index(drop=True)
    empty = pd.Series([""] * len(t))
    unit = _text(t["unit"]) if "unit" in t else empty
    code_factor = unit.map(lambda u: UNITS.get(u, (u.upper().replace(" ", "_") or "NUMBER", 1.0)))
    factor = code_factor.map(lambda cf: cf[1]).to_numpy(float)
    flag = _text(t["flag"]) if "flag" in t else empty
    suppressed = flag.str.startswith("suppressed").to_numpy()
    sex = _text(t["sex"]).str.lower().map(_SEX).fillna("_T") if "sex" in t else "_T"
    values = {
        c: pd.to_numeric(t[c], errors="coerce").to_numpy(float) * factor
        for c in need - {"indicator"}
    }
    for c in values:
        values[c] = np.where(suppressed, np.nan, values[c])
    out = pd.DataFrame(
        {
            "FREQ": "A",
            "REPORTING_TYPE": "N",
            "SERIES": t["indicator"].map(series_code),
            "REF_AREA": str(ref_area),
            "SEX": sex,
            "AGE": "_T",
            "SUBNATIONAL": _code(t["region"]) if "region" in t else "_T",
            "BREAKDOWN": _code(t["category"]) if "category" in t else "_T",
            "TIME_PERIOD": str(time_period),
            "OBS_VALUE": values["estimate"],
            "UNIT_MEASURE": code_factor.map(lambda cf: cf[0]),
            "UNIT_MULT": "0",
            "OBS_STATUS": np.where(suppressed, "M", np.where(flag != "", "U", "A")),
            "CONF_STATUS": np.where(suppressed, "C", "F"),
            "LOWER_BOUND": values["ci_low"],
            "UPPER_BOUND": values["ci_high"],
            "STANDARD_ERROR": values["se"],
            "COMMENT_OBS": flag,
            "SURVMIG_INDICATOR": t["indicator"].astype(str),
        }
    )
    key = list(DIMENSIONS) + ["TIME_PERIOD"]
    dup = out.duplicated(key, keep=False)
    if dup.any():
        row = out[dup].iloc[0]
        raise SurvmigError(
            f"two observations share the key {'.'.join(str(row[k]) for k in key)}",
            where="sdmx",
            hint="an indicator's rows must differ by sex, region or category",
        )
    return out


def structure(name: str = "SURVMIG_MIGRATION") -> tuple[Any, Any]:
    """The data structure definition and dataflow (sdmx1 objects)."""
    from sdmx.model import common
    from sdmx.model import v21 as m

    agency = common.Agency(id=AGENCY)
    dsd = m.DataStructureDefinition(id=f"{name}_DSD", maintainer=agency, version="1.0")
    for dim in DIMENSIONS:
        dsd.dimensions.getdefault(dim)
    dsd.dimensions.append(m.TimeDimension(id="TIME_PERIOD"))
    dsd.measures.getdefault("OBS_VALUE")
    for att in ATTRIBUTES:
        dsd.attributes.getdefault(att, related_to=m.PrimaryMeasureRelationship())
    flow = m.DataflowDefinition(id=name, maintainer=agency, version="1.0", structure=dsd)
    return dsd, flow


def dataset(obs: pd.DataFrame, dsd: Any, flow: Any) -> Any:
    """An sdmx1 DataSet of the observations (attributes left out where empty)."""
    from sdmx.model import v21 as m

    measure = dsd.measures[0]
    atts = {a: dsd.attributes.get(a) for a in ATTRIBUTES}
    items = []
    for rec in obs.to_dict("records"):
        key = dsd.make_key(m.Key, {d: rec[d] for d in (*DIMENSIONS, "TIME_PERIOD")})
        attached = {}
        for a, comp in atts.items():
            v = rec[a]
            if isinstance(v, float):
                if not np.isfinite(v):
                    continue
                v = repr(float(v))
            if v != "":
                attached[a] = m.AttributeValue(value=str(v), value_for=comp)
        value = rec["OBS_VALUE"]
        items.append(
            m.Observation(
                dimension=key,
                value=float(value),  # NaN: a suppressed estimate, written empty
                value_for=measure,
                attached_attribute=attached,
            )
        )
    ds = m.DataSet(structured_by=dsd, described_by=flow)
    ds.add_obs(items)
    return ds


def write_sdmx(
    table: pd.DataFrame,
    folder: str | Path,
    *,
    ref_area: str,
    time_period: str,
    name: str = "SURVMIG_MIGRATION",
) -> dict[str, Path]:
    """``data.csv`` (SDMX-CSV), ``data.xml`` (SDMX-ML structure-specific data), ``structure.xml``
    (the DSD and dataflow) and ``mapping.csv`` (catalogue indicator -> series, unit) in ``folder``."""
    import sdmx
    from sdmx.message import DataMessage, StructureMessage

    if not str(ref_area).isdigit():
        raise SurvmigError(
            f"REF_AREA is a UN M49 numeric code, got {ref_area!r}",
            where="--ref-area",
            hint="e.g. 504 for Morocco",
        )
    if not str(time_period).strip():
        raise SurvmigError("a time period is needed", where="--time-period", hint="e.g. 2025")
    folder = Path(folder)
    check_output_dir(folder)
    obs = observations(table, ref_area, str(time_period))
    dsd, flow = structure(name)
    ds = dataset(obs, dsd, flow)
    mapping = (
        obs[["SURVMIG_INDICATOR", "SERIES", "UNIT_MEASURE"]]
        .drop_duplicates()
        .assign(sdg=lambda f: f["SERIES"].isin(set(SDG_SERIES.values())))
    )
    files = {
        "csv": folder / "data.csv",
        "xml": folder / "data.xml",
        "structure": folder / "structure.xml",
        "mapping": folder / "mapping.csv",
    }
    with atomic_dir(folder) as tmp:
        # dtype=None: keep the values as written (a suppressed one is empty, not a float)
        sdmx.to_csv(ds, path=tmp / "data.csv", attributes="o", dtype=None)
        (tmp / "data.xml").write_bytes(
            sdmx.to_xml(DataMessage(data=[ds], dataflow=flow), pretty_print=True)
        )
        structures = StructureMessage()
        structures.add(dsd)
        structures.add(flow)
        (tmp / "structure.xml").write_bytes(sdmx.to_xml(structures, pretty_print=True))
        mapping.to_csv(tmp / "mapping.csv", index=False)
    return files


def read_back(files: Mapping[str, Path]) -> dict[str, pd.DataFrame]:
    """The written files parsed by sdmx1's own readers (the structure from ``structure.xml``)."""
    import sdmx

    structures = sdmx.read_sdmx(files["structure"])
    dsd = next(iter(structures.structure.values()))
    out = {}
    for kind in ("xml", "csv"):
        msg = sdmx.read_sdmx(files[kind], structure=dsd)
        out[kind] = sdmx.to_pandas(msg.data[0], attributes="o").reset_index()
    return out
