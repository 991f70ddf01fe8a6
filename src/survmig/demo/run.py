"""The whole pipeline on a synthetic country, step by step, with the truth to compare against.

:func:`run_demo` builds the questionnaire from the bundled modules, draws a country, answers the
form for every household (the population's answers: the *truth* is any indicator computed on them
with weight 1), selects a two-stage sample with a screening phase, writes the respondents'
submissions as an ODK Central export, imports and checks it against the form, weights it (base
weights from the selection probabilities, nonresponse within classes, calibration to census totals),
estimates every computable indicator nationally, by region and by sex, writes the report and counts
how many 95 % intervals cover the true values.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.data import KEY, PARENT_KEY, ROOT_KEY, Dataset, FormMetadata, read_export
from survmig.data.checks import check_dataset
from survmig.demo.country import REGIONS, Country, calibration_cells, synthetic_country
from survmig.demo.districts import district_census, district_small_area
from survmig.demo.fieldwork import Fieldwork, draw_sample
from survmig.demo.responses import form_responses
from survmig.design import SurveyDesign
from survmig.errors import SurvmigError
from survmig.exchange import write_sdmx
from survmig.fileio import atomic_dir, atomic_path, check_output_dir
from survmig.indicators import IndicatorResults, level_map
from survmig.indicators.comparison import IndicatorComparison, compare_indicators
from survmig.indicators.margins import compute_margins
from survmig.report import Thresholds, flag_reliability, from_design, write_report
from survmig.sampling.population import ea_frame
from survmig.sampling.results import generator
from survmig.tableio import write_table
from survmig.weighting import BaseWeights, Calibrate, ControlTable, Nonresponse, Stage
from survmig.weighting.pipeline import WeightingResult, run_steps
from survmig.weighting.report import write_reports

SPEC_NAME = "household.yaml"
#: the UN M49 code the demo's SDMX files carry as REF_AREA (its currency is the dirham: Morocco)
REF_AREA = "504"
#: exchange rates (dirham per unit) for the remittance indicators; the total is also given in euro
RATES = {"MAD": 1.0, "EUR": 10.8}
PARAMETERS = {"convert_to": "EUR"}
#: the analysis domains: national (no domain), by region, by sex
BREAKDOWNS: tuple[tuple[str, ...], ...] = ((), ("region",), ("sex",))
#: the disaggregation by migratory status: households with a foreign-born member (UN DESA's
#: migrant households, 1) against the others (0, the reference), and their members
MIGRATORY_STATUS = ("migrant_household", "0")
#: the design; a stratum left with one responding EA (possible in tiny samples) is centred on the
#: grand mean, as R's options(survey.lonely.psu = "adjust")
DESIGN = {
    "ids": "ea",
    "strata": "stratum",
    "weights": "weight",
    "lonely_psu": "adjust",
    # two phases: EAs by PPS (phase 1, listed and screened), households by screening class within
    # each EA (phase 2, the respondents: nonresponse taken as random within EA × class)
    "probs": "prob_stage1",
    "phase2": {"ids": "hh_id", "strata": ["ea", "screen"], "fpc": "screen_listed"},
}


@dataclasses.dataclass
class DemoResult:
    """Where the files are and the headline numbers."""

    directory: Path
    files: dict[str, Path]
    n_households_population: int
    n_selected: int
    n_respondents: int
    n_eas: int
    check_problems: int
    indicators: int
    computed: list[str]
    not_computable: dict[str, str]
    coverage: pd.DataFrame  # one row per group: intervals, covering, share
    estimates: pd.DataFrame  # estimates joined with the truth
    seconds: float
    country: Country  # the synthetic country (the truth before it became answers)
    small_area: pd.DataFrame  # district estimates (direct, model) with the true shares


def spec_path() -> Path:
    """The demo's questionnaire spec, shipped inside the package (found in an installed wheel too)."""
    return Path(str(resources.files("survmig.demo").joinpath(SPEC_NAME)))


Step = Callable[[str], Any]


@contextmanager
def _no_progress(description: str) -> Iterator[None]:
    yield


def run_demo(
    directory: str | Path = "survmig-demo",
    *,
    households: int = 1200,
    population: int | None = None,
    seed: int = 2025,
    validate: bool = True,
    step: Step = _no_progress,
    platform: str = "odk-central",
) -> DemoResult:
    """Run the demo into ``directory`` (written atomically); ``step(description)`` is a context
    manager that shows progress. ``households`` is the phase-2 sample size aimed at and
    ``population`` the country's number of households (default: 10 × households, at least 6,000).
    ``platform`` (odk-central, kobo, surveycto) is the shape the fieldwork export is written in."""
    from survmig.demo.platforms import PLATFORMS, describe, write_fieldwork

    if platform not in PLATFORMS:
        raise SurvmigError(
            f"unknown platform '{platform}'", hint="choose from " + ", ".join(PLATFORMS)
        )
    if households < 100:
        raise SurvmigError(
            f"at least 100 households are needed, got {households}", where="--households"
        )
    population = population or max(6000, 10 * households)
    if population < 2000:
        raise SurvmigError(
            f"the country needs at least 2000 households, got {population}",
            where="--population",
            hint="smaller countries leave strata with a single enumeration area",
        )
    if population < 4 * households:
        raise SurvmigError(
            f"the country ({population} households) is too small for a sample of {households}",
            where="--population",
            hint="give at least four times as many households as the sample",
        )
    directory = Path(directory)
    check_output_dir(directory)  # a file, a path below a file or a foreign folder: refused
    t0 = time.perf_counter()
    rng = generator(seed)
    seeds = [int(s) for s in rng.integers(0, 2**31, size=4)]
    with atomic_dir(directory) as tmp:
        for sub in ("fieldwork", "weights", "truth"):
            (tmp / sub).mkdir()
        checks = "pyxform + ODK Validate" if validate else "pyxform only"
        with step(f"Building the questionnaire from the module library ({checks})"):
            form_path = _build_form(tmp / "questionnaire", validate)
            form = FormMetadata.from_xlsform(form_path)
        with step("Drawing a synthetic country (households, persons, emigrants, returnees)"):
            country = synthetic_country(population, seed=seeds[0])
            census = country.census_totals()
            _write_country(tmp / "country", country, census)
        with step("Answering the form for every household (the truth)"):
            pop_ds, hh_ids = form_responses(form, country, seed=seeds[1])
        with step("Selecting EAs by PPS, listing, screening, subsampling by migrant class"):
            fw = draw_sample(country, households, seed=seeds[2])
            sample = attach_keys(fw, pop_ds, hh_ids)
        with step(f"Writing the respondents' submissions as {describe(platform)}"):
            respondents = sample.loc[sample["responded"] == 1, KEY]
            export, read_options = write_fieldwork(
                subset_submissions(pop_ds, respondents), form, tmp / "fieldwork", platform
            )
            sample.to_csv(tmp / "fieldwork" / "sample.csv", index=False)
        with step("Importing the export and checking it against the form"):
            data = read_export(export, form=form_path, **read_options)
            report = check_dataset(data)
            report.write(tmp / "fieldwork" / "data_check.csv")
        with step("Weighting: base, nonresponse, calibration to census totals"):
            weighting, design_data = weight_households(data, sample, census)
            write_reports(weighting, tmp / "weights" / "households_weighted.csv")
            design_data.to_csv(tmp / "weights" / "households_weighted.csv", index=False)
        with step("Writing example inputs for the documentation's commands (inputs/)"):
            age = data.column_for("age", level=level_map(data)["person"])
            write_inputs(tmp / "inputs", country, sample, census, age)
        with step("Estimating every computable indicator (national, by region, by sex)"):
            design = calibrated_design(design_data, weighting)
            results = estimate_indicators(data, design)
        with step("Comparing the indicators by migratory status (migrant households vs others)"):
            results.comparison = compare_by_status(data, design, results.computed)
        with step("Computing the true values on the whole population"):
            truth_data = pd.DataFrame(
                {
                    KEY: pop_ds.table(pop_ds.root)[KEY].to_numpy(),
                    "region": country.households["region"].map(REGIONS).to_numpy(),
                    "weight": 1.0,
                }
            )
            truth = estimate_indicators(
                pop_ds, {"weights": "weight"}, results.computed, design_data=truth_data
            )
            joined, coverage = coverage_table(results, truth)
            joined.to_csv(tmp / "truth" / "estimates_vs_truth.csv", index=False)
            coverage.to_csv(tmp / "truth" / "coverage.csv", index=False)
        with step("Small-area (Fay-Herriot) estimates of the foreign-born share by district"):
            districts = district_census(country.households, country.persons, seeds[0])
            write_table(districts, tmp / "country" / "district_census.csv")
            small = district_small_area(tmp / "small_area", data, design_data, country, districts)
        with step("Writing the report (HTML, Excel, CSV, charts)"):
            methodology = from_design(
                design,
                persons=len(data.table(level_map(data)["person"])),
                response_rate=float(sample["responded"].mean()),
                weighting=weighting.reports,
            )
            write_report(
                results,
                tmp / "report",
                title="survmig demo: migration indicators",
                agency="survmig demo (synthetic country)",
                methodology=methodology,
            )
            _add_coverage_to_html(tmp / "report" / "report.html", coverage, joined)
            published = pd.read_csv(tmp / "report" / "indicators.csv")
            write_sdmx(
                published, tmp / "sdmx", ref_area=REF_AREA, time_period=str(country.survey_year)
            )
            _write_readme(tmp, form.form_id, fw, coverage, weighting.reports[-1].name)
    files = {
        "readme": directory / "README.txt",
        "questionnaire": directory / "questionnaire" / f"{form.form_id}.xlsx",
        "export": directory / "fieldwork" / export.name,
        "sample": directory / "fieldwork" / "sample.csv",
        "data_check": directory / "fieldwork" / "data_check.csv",
        "weights": directory / "weights" / "households_weighted.csv",
        "report": directory / "report" / "report.html",
        "workbook": directory / "report" / "indicators.xlsx",
        "csv": directory / "report" / "indicators.csv",
        "charts": directory / "report" / "charts",
        "coverage": directory / "truth" / "coverage.csv",
        "inputs": directory / "inputs",
        "truth": directory / "truth" / "estimates_vs_truth.csv",
        "small_area": directory / "small_area" / "estimates.csv",
        "sdmx": directory / "sdmx" / "data.xml",
    }
    return DemoResult(
        directory=directory,
        files=files,
        n_households_population=len(country.households),
        n_selected=len(sample),
        n_respondents=int(sample["responded"].sum()),
        n_eas=int(sum(fw.n_eas.values())),
        check_problems=len(report.problems),
        indicators=len(results.info),
        computed=results.computed,
        not_computable=dict(results.not_computable),
        coverage=coverage,
        estimates=joined,
        seconds=time.perf_counter() - t0,
        country=country,
        small_area=small,
    )


# ------------------------------------------------------------------------------------------ steps


def _build_form(folder: Path, validate: bool) -> Path:
    from survmig.xlsform import build

    folder.mkdir(parents=True)
    spec = folder / SPEC_NAME
    shutil.copyfile(spec_path(), spec)
    from survmig.questionnaire import load_spec

    form_id = load_spec(spec).form_id
    out = folder / f"{form_id}.xlsx"
    build(spec, out, validate=validate)
    return out


def _write_country(folder: Path, country: Country, census: pd.DataFrame) -> None:
    folder.mkdir(parents=True)
    census.to_csv(folder / "census_totals.csv", index=False)
    hh = country.households
    summary = (
        hh.assign(region=hh["region"].map(REGIONS))
        .groupby(["region", "stratum"], observed=True)
        .agg(
            eas=("ea", "nunique"),
            households=("hh_id", "size"),
            persons=("size", "sum"),
            migrant_households=("is_migrant", "sum"),
        )
        .reset_index()
    )
    summary.to_csv(folder / "population_summary.csv", index=False)


def attach_keys(fw: Fieldwork, ds: Dataset, hh_ids: pd.Series) -> pd.DataFrame:
    """The sample with each household's submission key and readable region names."""
    keys = pd.Series(ds.table(ds.root)[KEY].to_numpy(), index=hh_ids.to_numpy())
    sample = fw.sample.copy()
    key = pd.Series(keys.reindex(sample["hh_id"]).to_numpy(), index=sample.index)
    sample.insert(0, KEY, key.where(sample["responded"] == 1))
    sample["region"] = sample["region"].map(REGIONS)
    return sample


def subset_submissions(ds: Dataset, keys: pd.Series) -> Dataset:
    """The submissions with these root keys, with every repeat row that belongs to them."""
    wanted = set(keys.astype(str))
    tables = {}
    for level in ds.levels:
        df = ds.table(level)
        col = KEY if level == ds.root else ROOT_KEY
        tables[level] = df[df[col].astype(str).isin(wanted)].reset_index(drop=True)
    return Dataset(tables, ds.metadata, source=ds.source)


def _person_cells(data: Dataset, by_region: bool) -> pd.DataFrame:
    """Persons per household in each census cell (region × sex × age group, or sex × age group),
    counted in the survey data."""
    person = level_map(data)["person"]
    people = data.flatten(person)
    sex = people[data.column_for("sex", level=person)]
    age = people[data.column_for("age", level=person)]
    cells = calibration_cells(people["region"] if by_region else None, sex, age)
    return pd.crosstab(people[f"KEY_{data.root}"], cells)


#: fewest sample persons in a region × sex × age cell for calibrating to those cells
MIN_CELL = 30


def weight_households(
    data: Dataset, sample: pd.DataFrame, census: pd.DataFrame
) -> tuple[WeightingResult, pd.DataFrame]:
    """Base weights (EA probability × phase-2 rate), nonresponse by region × screening class,
    raking calibration of household weights to census households by region and persons by
    region × sex × age group (integrated household weighting; persons by sex × age group when a
    region × sex × age cell has fewer than ``MIN_CELL`` sample persons)."""
    region_code = {name: code for code, name in REGIONS.items()}
    root = data.table(data.root)
    responding = sample[sample["responded"] == 1]
    with_region = _with_columns(data, responding.set_index(KEY)["region"].map(region_code))
    counts = _person_cells(with_region, by_region=True)
    fine = counts.sum().min() >= MIN_CELL and counts.shape[1] == len(REGIONS) * 6
    if not fine:  # too few cases in some cell: persons by sex × age group nationally
        counts = _person_cells(with_region, by_region=False)
    frame = sample.copy()
    aux = counts.reindex(frame[KEY]).fillna(0.0)
    aux.index = frame.index
    region_cell = census["cell"].str.split("_").str[1].isin(list(REGIONS.values()))
    person_totals = census[census["cell"].str.startswith("persons_") & (region_cell == fine)]
    person_totals = person_totals.set_index("cell")["total"]
    for cell in person_totals.index:
        frame[cell] = aux[cell] if cell in aux.columns else 0.0
    hh_totals = census[census["cell"].str.startswith("households_")]
    hh_totals = {
        c.removeprefix("households_"): float(t)
        for c, t in zip(hh_totals["cell"], hh_totals["total"], strict=True)
    }
    # a region without respondents (tiny samples) cannot be calibrated to: the national total then
    by_region = set(responding["region"]) == set(hh_totals)
    steps = [
        BaseWeights(
            stages=[
                Stage("probability", {"column": "prob_stage1"}),
                Stage("phase2", {"class": "screen", "rates": _rates(sample)}),
            ],
            name="base (PPS of EAs × phase-2 rate)",
        ),
        Nonresponse(response="responded", classes=["region", "screen"], name="nonresponse"),
        Calibrate(
            margins=[ControlTable(("region",), hh_totals)] if by_region else [],
            continuous={c: float(t) for c, t in person_totals.items()},
            population=None if by_region else float(sum(hh_totals.values())),
            method="raking",
            name="calibration to the census: households "
            + ("by region" if by_region else "in total")
            + ", persons by "
            + ("region × sex × age group" if fine else "sex × age group"),
        ),
    ]
    result = run_steps(frame, steps)
    kept = frame.iloc[result.rows]
    design_data = pd.DataFrame(
        {
            KEY: kept[KEY].to_numpy(),
            "ea": kept["ea"].to_numpy(),
            "stratum": kept["stratum"].to_numpy(),
            "region": kept["region"].to_numpy(),
            "district": kept["district"].to_numpy(),
            "screen": kept["screen"].to_numpy(),
            "hh_id": kept["hh_id"].to_numpy(),
            "prob_stage1": kept["prob_stage1"].to_numpy(),
            "screen_listed": kept["screen_listed"].to_numpy(),
            "base_weight": 1.0 / kept["prob"].to_numpy(),
            "weight": result.weights,
        }
    )
    missing = set(root[KEY].astype(str)) - set(design_data[KEY].astype(str))
    if missing:
        raise SurvmigError(
            f"{len(missing)} submission(s) are not in the sample file", where="weights"
        )
    return result, design_data


def calibrated_design(design_data: pd.DataFrame, weighting: WeightingResult) -> SurveyDesign:
    """The respondents' two-phase household design (``DESIGN``) with the final weights and the
    calibration records of the weighting, so that SEs have both phases' contributions and use the
    calibration residuals."""
    design = SurveyDesign(
        design_data,
        ids=DESIGN["ids"],
        strata=DESIGN["strata"],
        weights=DESIGN["weights"],
        lonely_psu=DESIGN["lonely_psu"],
        probs=DESIGN["probs"],
        phase2=DESIGN["phase2"],
    )
    return design.with_weights(design.weights, calibration=tuple(weighting.calibration))


def _rates(sample: pd.DataFrame) -> dict[str, float]:
    rates = sample.groupby("screen")["prob_phase2"].first()
    return {str(k): float(v) for k, v in rates.items()}


def _with_columns(data: Dataset, by_key: pd.Series) -> Dataset:
    """``data`` with a column ``region`` on the household table, looked up by submission key."""
    tables = {lv: data.table(lv) for lv in data.levels}
    root = tables[data.root].copy()
    root["region"] = by_key.reindex(root[KEY].astype(str)).to_numpy()
    tables[data.root] = root
    return Dataset(tables, data.metadata, source=data.source)


def estimate_indicators(
    data: Dataset,
    design: dict[str, Any] | SurveyDesign,
    indicators: Any = "all",
    design_data: pd.DataFrame | None = None,
) -> IndicatorResults:
    """National, by-region and by-sex results merged into one set (domain columns region, sex).

    ``design``: a design spec (with ``design_data``) or a household :class:`SurveyDesign`."""
    with warnings.catch_warnings():
        # design effects of degenerate domains (zero SRS variance) are NaN; the table says so
        warnings.simplefilter("ignore", RuntimeWarning)
        return compute_margins(
            data,
            design,
            indicators,
            BREAKDOWNS,
            rates=RATES,
            parameters=PARAMETERS,
            design_data=design_data,
        )


def migrant_households(data: Dataset, design: SurveyDesign) -> SurveyDesign:
    """``design`` with ``migrant_household``: 1 for a household with a foreign-born member, 0 for
    one whose members are all native-born, missing when a member's place of birth is unknown."""
    person = level_map(data)["person"]
    members = data.table(person, specials="missing")
    born = pd.to_numeric(members[data.column_for("born_in_country", level=person)], "coerce")
    frame = pd.DataFrame({"k": members[PARENT_KEY].astype(str), "fb": born == 0, "na": born.isna()})
    per = frame.groupby("k").agg(fb=("fb", "any"), na=("na", "any"))
    keys = design.data[KEY].astype(str)
    fb = per["fb"].reindex(keys).fillna(False).to_numpy(dtype=bool)
    na = per["na"].reindex(keys).fillna(False).to_numpy(dtype=bool)
    status = np.where(fb, "1", np.where(na, None, "0"))
    return design.with_columns({MIGRATORY_STATUS[0]: status})


def compare_by_status(
    data: Dataset, design: SurveyDesign, indicators: Any = "all"
) -> IndicatorComparison:
    """The indicators for migrant households (and their members) and the others, and the
    difference (SE, CI, test); those defined by the place of birth, or on levels below the
    household without it (emigrants, senders), are notes."""
    var, reference = MIGRATORY_STATUS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # deffs of degenerate groups: NaN
        return compare_indicators(
            data, migrant_households(data, design), indicators, compare=var,
            reference=reference, derived_from=["born_in_country"], rates=RATES,
            parameters=PARAMETERS,
        )  # fmt: skip


def coverage_table(
    results: IndicatorResults, truth: IndicatorResults
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each estimate beside its true value, and the share of 95 % intervals that cover it."""
    keys = ["indicator", "category", *results.by]
    est = flag_reliability(results.table, Thresholds())
    tru = truth.table[[*keys, "estimate"]].rename(columns={"estimate": "true_value"})
    for frame in (est, tru):
        for k in keys:
            frame[k] = frame[k].astype(object).where(frame[k].notna(), "").astype(str)
    joined = est.merge(tru, on=keys, how="left")
    # an interval of zero width (an SE of zero up to rounding noise) is not an interval
    no_width = joined["se"].abs() <= Thresholds().cv_zero * joined["estimate"].abs()
    ok = joined["ci_low"].notna() & joined["true_value"].notna() & joined["se"].gt(0) & ~no_width
    joined = joined[ok].reset_index(drop=True)
    joined["covered"] = (joined["ci_low"] <= joined["true_value"]) & (
        joined["true_value"] <= joined["ci_high"]
    )
    joined["error_in_se"] = (joined["estimate"] - joined["true_value"]) / joined["se"]
    domain = np.where(
        joined["region"] != "", "by region", np.where(joined["sex"] != "", "by sex", "national")
    )
    joined["domain"] = domain
    flag = joined["flag"].fillna("").astype(str)
    joined["reliable"] = flag == ""
    rows = []
    groups = [("all estimates", np.ones(len(joined), bool))]
    groups += [(d, domain == d) for d in ("national", "by region", "by sex")]
    groups += [("reliable (no flag)", joined["reliable"].to_numpy())]
    groups += [("flagged or suppressed", ~joined["reliable"].to_numpy())]
    for name, mask in groups:
        n = int(mask.sum())
        k = int(joined["covered"].to_numpy()[mask].sum())
        rows.append(
            {"group": name, "intervals": n, "covering": k, "coverage": k / n if n else np.nan}
        )
    return joined, pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- inputs

#: the disclosure-risk section of inputs/public.yaml (weights: the weighted households, relative
#: to inputs/); household size is not a key: the member rows would give a suppressed one back
PUBLIC_RISK = {
    "keys": ["sex", "age", "cc_country_birth"],
    "k": 3,
    "weight": "weight",
    "weight_file": "../weights/households_weighted.csv",
    "importance": ["sex", "age", "cc_country_birth"],
    "sensitive": ["cc_citizenship"],
}

#: the cost of a phase-2 interview in the two-phase allocation example (classes.csv)
INTERVIEW_COST = 20.0


def weighting_spec(
    sample: pd.DataFrame, census: pd.DataFrame
) -> tuple[dict[str, Any], dict[str, float]]:
    """The demo's weighting as a ``weighting.yaml`` for ``survmig weight`` on fieldwork/sample.csv:
    base weights, nonresponse by region × screening class, raking to census households by region
    (the person totals of the demo's own calibration need per-household person counts that
    sample.csv does not carry). Returns the spec and the household totals by region."""
    hh = census[census["cell"].str.startswith("households_")]
    totals = {
        c.removeprefix("households_"): float(t)
        for c, t in zip(hh["cell"], hh["total"], strict=True)
    }
    return {
        "steps": [
            {
                "step": "base",
                "name": "base (PPS of EAs × phase-2 rate)",
                "stages": [
                    {"probability": {"column": "prob_stage1"}},
                    {"phase2": {"class": "screen", "rates": _rates(sample)}},
                ],
            },
            {
                "step": "nonresponse",
                "response": "responded",
                "classes": ["region", "screen"],
            },
            {
                "step": "calibrate",
                "name": "calibration to census households by region",
                "method": "raking",
                "margins": [{"by": "region", "totals": "household_totals.csv"}],
            },
        ]
    }, totals


def _write_yaml(data: dict[str, Any], path: Path, header: str) -> None:
    import yaml

    text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_inputs(
    folder: Path, country: Country, sample: pd.DataFrame, census: pd.DataFrame, age: str
) -> None:
    """Example input files for every command of the README and docs/, made from the demo's own country and sample."""
    folder.mkdir(parents=True)
    _write_yaml(
        DESIGN,
        folder / "design.yaml",
        "# the demo's two-phase household design: phase 1 EAs by PPS (prob_stage1) within the\n"
        "# census-prevalence strata; phase 2 households within EA x screening class, of the\n"
        "# screen_listed households listed there\n",
    )
    steps, totals = weighting_spec(sample, census)
    write_table(
        pd.DataFrame({"region": list(totals), "total": list(totals.values())}),
        folder / "household_totals.csv",
    )
    _write_yaml(
        steps,
        folder / "weighting.yaml",
        "# survmig weight fieldwork/sample.csv --design design.yaml --steps weighting.yaml\n",
    )
    write_table(
        pd.DataFrame({"currency": list(RATES), "rate": list(RATES.values())}),
        folder / "rates.csv",
    )
    _write_yaml(
        {"age_groups": {age: {"breaks": [0, 15, 25, 40, 65]}}, "risk": PUBLIC_RISK},
        folder / "public.yaml",
        "# public-use file: PII, GPS and identifying metadata are always dropped; age grouped;\n"
        "# disclosure risk measured on the key variables, local suppression to 3-anonymity\n",
    )
    hh = country.households
    frame = ea_frame(hh)
    strata = frame.groupby("stratum").agg(
        N=("ea", "size"), households=("households", "sum"), prevalence=("census_prevalence", "mean")
    )  # N counts EAs: `survmig allocate` then gives the EAs per stratum for `survmig select`
    write_table(strata.reset_index(), folder / "strata.csv")
    write_table(frame, folder / "frame.csv")
    listing = pd.DataFrame(
        {
            "hh_id": hh["hh_id"].to_numpy(),
            "ea": hh["ea"].to_numpy(),
            "stratum": hh["stratum"].to_numpy(),
            "region": hh["region"].map(REGIONS).to_numpy(),
            "screener": np.where(hh["is_migrant"].to_numpy(bool), "migrant", "none"),
        }
    )
    write_table(listing, folder / "listing.csv")
    # the screening classes of the listing for a two-phase allocation: the share of each class and
    # the mean and SD of the target variable (receiving remittances, 0/1) in it
    received = hh["remittances"].astype(float).groupby(listing["screener"].to_numpy())
    classes = pd.DataFrame(
        {
            "N": received.size(),
            "share": received.size() / len(hh),
            "mean": received.mean(),
            "sd": received.std(ddof=0),
            "cost": INTERVIEW_COST,
        }
    ).rename_axis("stratum")
    write_table(classes.reset_index(), folder / "classes.csv")


def _add_coverage_to_html(path: Path, coverage: pd.DataFrame, joined: pd.DataFrame) -> None:
    """Insert the coverage section at the top of the report (the truth is known in the demo)."""
    rows = "".join(
        f"<tr><td>{r.group}</td><td>{r.intervals}</td><td>{r.covering}</td>"
        f"<td>{'' if pd.isna(r.coverage) else f'{r.coverage:.1%}'}</td></tr>"
        for r in coverage.itertuples()
    )
    nat = joined[joined["domain"] == "national"]
    head = nat.head(12)
    detail = "".join(
        f"<tr><td>{r.indicator}</td><td>{r.category}</td><td>{r.estimate:.4g}</td><td>{r.se:.3g}</td>"
        f"<td>{r.ci_low:.4g} – {r.ci_high:.4g}</td><td>{r.true_value:.4g}</td>"
        f"<td>{'yes' if r.covered else 'no'}</td></tr>"
        for r in head.itertuples()
    )
    section = (
        '<section id="coverage"><h2>Demo: do the 95 % intervals cover the truth?</h2>'
        "<p>The data are synthetic, so the true value of every indicator is known: it is the "
        "indicator computed on the answers of every household of the synthetic country. A correct "
        "design-based analysis should give intervals that cover it about 95 % of the time (less for "
        "flagged estimates from few cases: rare categories give skewed estimates whose SEs are "
        "themselves uncertain, and a region holds only some of the sampled EAs). The full "
        "comparison is in "
        "<code>truth/estimates_vs_truth.csv</code>.</p>"
        "<table><tr><th>estimates</th><th>intervals</th><th>covering the truth</th><th>coverage</th></tr>"
        f"{rows}</table>"
        "<h3>National estimates and true values (first rows)</h3>"
        "<table><tr><th>indicator</th><th>category</th><th>estimate</th><th>SE</th><th>95 % CI</th>"
        f"<th>true value</th><th>covered</th></tr>{detail}</table></section>"
    )
    text = path.read_text(encoding="utf-8")
    at = text.find("<h2")
    text = (
        text[:at] + section + text[at:] if at >= 0 else text.replace("</body>", section + "</body>")
    )
    path.write_text(text, encoding="utf-8")


def _write_readme(
    folder: Path, form_id: str, fw: Fieldwork, coverage: pd.DataFrame, calibration: str
) -> None:
    cov = coverage.iloc[0]
    text = f"""survmig demo: the whole pipeline on a synthetic country
=========================================================

Everything here was produced by `survmig demo` from the bundled question modules and a synthetic
country; rerun with the same --seed to get the same numbers.

questionnaire/{SPEC_NAME}
    The questionnaire spec: MED-HIMS household modules, the UN census core, ILO labour migration
    and SDG 10.7.1 recruitment costs.
questionnaire/{form_id}.xlsx
    The compiled XLSForm (validated by pyxform and ODK Validate unless --no-validate was given).
    Open it in ODK Central / KoboToolbox, or print it with `survmig render`.
country/census_totals.csv
    The synthetic census: households by region and persons by region x sex x age group
    (the calibration totals).
country/population_summary.csv
    EAs, households, persons and migrant households by region and census-prevalence stratum.
fieldwork/sample.csv
    The selected households: EA, stratum, region, screening class, probabilities of each stage
    (prob_stage1 = PPS of the EA, prob_phase2 = subsampling rate of the screening class),
    responded (1/0) and KEY, the submission id of respondents. {fw.listed} households were listed
    and screened in {sum(fw.n_eas.values())} EAs; phase-2 rates: {fw.rates}.
fieldwork/{form_id}.zip
    The respondents' submissions as ODK Central exports them (one CSV per repeat), answers
    consistent with the form's skip logic, with some don't know (-8) / refused (-9) answers.
fieldwork/data_check.csv
    Problems found by `survmig data check` (choices, constraints, skip logic, repeats): none expected.
fieldwork/data_check_not_checked.csv
    The form's rules the checker cannot evaluate (today(), indexed-repeat()…).
weights/households_weighted.csv
    Respondent households with design variables (ea, stratum, region, screening class, hh_id,
    prob_stage1, screen_listed = households listed in the EA with that screening class), the base
    weight and the final weight. The design for standard errors is two-phase (R's twophase()):
    phase 1 the EAs by PPS within the census-prevalence strata, phase 2 the responding households
    as a stratified sample of the listed ones within EA x screening class (inputs/design.yaml,
    section phase2). Indicators are estimated with the calibrated two-phase household design, so
    SEs have both phases' contributions and use the calibration residuals; person, emigrant…
    means, shares and totals as ratios/totals of household member totals on it.
weights/households_weighted.weighting.md
weights/households_weighted.weighting.json
    What each weighting step did: weights before/after, controls, classes, convergence.
    Last step: {calibration}.
report/report.html
    The report: the coverage of the intervals (the truth is known here), then every indicator
    with definition, standard, chart and table (estimate, SE, 95 % CI, CV, n, reliability flag).
report/indicators.xlsx
    One sheet per indicator, definition and standard as notes.
report/indicators.csv
    All estimates in one table (national, by region, by sex).
report/comparison.csv
    The indicators for migrant households (a foreign-born member) and the others, and the
    difference with its SE, CI and p-value (the report's "by migratory status" section).
report/charts/
    One chart per indicator (estimates with 95 % confidence bars).
sdmx/
    The indicators of report/indicators.csv as SDMX for data exchange (`survmig sdmx`): data.csv
    (SDMX-CSV), data.xml (SDMX-ML), structure.xml (the data structure) and mapping.csv (indicator ->
    SDG or survmig series); REF_AREA 504, SDG codes where they exist, suppressed values left out.
truth/estimates_vs_truth.csv
    Every estimate beside the true value: covered, error in standard errors, reliability flag.
truth/coverage.csv
    How many 95 % intervals cover the truth: {cov.covering} of {cov.intervals} ({cov.coverage:.1%}).
country/district_census.csv
    The 36 districts (3 x 3 blocks of EAs in each region): households, persons and the foreign-born
    share an earlier census measured (with error): the covariates of the small-area model.
small_area/
    Fay-Herriot estimates of the foreign-born share by district (`survmig small-area`, REML,
    arcsine scale, GVF-smoothed variances (deff/(4n) from the national design effect when too few
    districts have a design variance), benchmarked to the national direct estimate):
    estimates.csv (direct, synthetic, model, MSE, CV, interval, true_value), coefficients.csv,
    diagnostics.csv, estimates.png (direct vs model by sample size), diagnostics.png.
inputs/
    Example input files for the commands of survmig's README and docs/ pages, made from this country and sample
    (the examples use them as demo-output/inputs/...):
inputs/design.yaml
    The household design of weights/households_weighted.csv (and of `survmig weight`'s output):
    ids ea, strata stratum, weights weight, lonely_psu adjust.
inputs/weighting.yaml
    The weighting steps for `survmig weight fieldwork/sample.csv`: base weights (PPS probability of
    the EA x phase-2 rate of the screening class), nonresponse within region x screening class,
    raking to the census households by region (totals in inputs/household_totals.csv). The demo's
    own weighting also calibrates to persons by sex x age group, which needs per-household person
    counts that sample.csv does not carry, so its weights differ a little.
inputs/household_totals.csv
    Census households by region (columns region, total): the calibration totals of weighting.yaml.
inputs/rates.csv
    Exchange rates (currency, rate: dirham per unit) of the currencies in the data, for
    `survmig estimate --rates` (with --param convert_to=EUR for the converted remittance totals).
inputs/public.yaml
    The public-use configuration for `survmig data export --public-use`: PII questions, GPS and
    identifying metadata are always removed, keys replaced; ages are grouped (0, 15, 25, 40, 65);
    the disclosure risk on sex, age group and country of birth is measured with the survey weights
    and key values are suppressed until every record is 3-anonymous (before/after in the log and
    in export_notes.csv).
inputs/strata.csv
    One row per census-prevalence stratum: N (EAs in the frame), households, prevalence (mean
    census migrant prevalence of its EAs), for `survmig allocate` (the allocation is in EAs).
inputs/frame.csv
    The EA frame: ea, stratum, grid position, households (the census measure of size for PPS),
    census prevalence, for `survmig select --method pps`.
inputs/listing.csv
    The household listing of every EA: hh_id, ea, stratum, region and the screener's answer
    (migrant / none), for `survmig select --method households` or `two-stage` and `two-phase`.
inputs/classes.csv
    The listing's screening classes (migrant / none) with their share, the mean and SD of
    receiving remittances (0/1) and an interview cost, for `survmig allocate --method two-phase`.

Try the same steps yourself (from this folder):
    survmig data import fieldwork/{form_id}.zip --form questionnaire/{form_id}.xlsx -o survey_dataset/
    survmig data check survey_dataset/ -o problems.csv
    survmig data export survey_dataset/ --public-use inputs/public.yaml --format sav -o public/
    survmig weight fieldwork/sample.csv --design inputs/design.yaml --steps inputs/weighting.yaml \
        -o weighted.parquet
    survmig estimate survey_dataset/ --design weighted.design.yaml --design-data weighted.parquet \
        --indicators all --by region --by sex --rates inputs/rates.csv --param convert_to=EUR \
        --report my_report/
    survmig small-area survey_dataset/ --design inputs/design.yaml \
        --design-data weights/households_weighted.csv --indicator foreign_born_share \
        --area district --covariates country/district_census.csv --x census_foreign_share \
        --population persons --variance deff -o districts/
    survmig allocate inputs/strata.csv --method rare --n 30 --screen-cost 2 --interview-cost 20 \
        -o alloc.csv
    survmig select inputs/frame.csv --method pps --strata stratum --size households \
        --allocation alloc.csv --seed 7 -o eas.csv
    survmig select inputs/listing.csv --method households --psus eas.csv --psu ea --take 20 \
        --seed 8 -o hh.csv
    survmig render questionnaire/{form_id}.xlsx --lang fr -o questionnaire_fr.html
"""
    (folder / "README.txt").write_text(text, encoding="utf-8")
