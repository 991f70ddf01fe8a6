"""The indicator catalogue: load ``catalogue.yaml``, check it against the concept registry.

Every indicator is data (see the header of ``catalogue.yaml``). The loader checks fields, statistics,
levels, expressions and that every name an expression uses is a registered concept or a catalogue
parameter, and errors name the file, the line and the indicator.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from survmig.errors import SurvmigError
from survmig.indicators import expr as ex
from survmig.modules import ConceptRegistry, load_concepts
from survmig.modules.yamlio import load_yaml

CATALOGUE_FILE = Path(__file__).with_name("catalogue.yaml")
STATISTICS = ("total", "mean", "proportion", "ratio", "quantile")
REQUIRED = (
    "id",
    "title",
    "definition",
    "standard",
    "level",
    "universe",
    "statistic",
    "reference_period",
    "unit",
)
OPTIONAL = ("value", "denominator", "probs", "breakdown", "multiple", "variants")
VARIANT_KEYS = ("level", "universe", "value", "denominator", "breakdown", "multiple", "note")


@dataclasses.dataclass(frozen=True)
class Definition:
    """One way to compute an indicator: its level, universe, value and breakdown expressions."""

    level: str
    universe: str
    universe_text: str
    value: str | None
    denominator: str | None
    breakdown: str | None
    multiple: str | None
    note: str | None = None

    def expressions(self) -> dict[str, str]:
        out = {"universe": self.universe}
        for key in ("value", "denominator", "breakdown"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def concepts(self, parameters: Iterable[str]) -> list[str]:
        """Concept ids this definition needs (parameters excluded), in a stable order."""
        found: set[str] = set()
        for text in self.expressions().values():
            values, _ = ex.names(ex.parse(text))
            found |= values
        if self.multiple:
            found.add(self.multiple)
        return sorted(found - set(parameters))

    def child_levels(self) -> list[str]:
        found: set[str] = set()
        for text in self.expressions().values():
            found |= ex.names(ex.parse(text))[1]
        return sorted(found)


@dataclasses.dataclass(frozen=True)
class Indicator:
    """A catalogue entry: what it measures (metadata) and how (definitions, first that fits wins)."""

    id: str
    title: str
    definition: str
    standard: str
    statistic: str
    reference_period: str
    unit: str
    definitions: tuple[Definition, ...]
    probs: tuple[float, ...] = ()
    line: int | None = None

    @property
    def level(self) -> str:
        return self.definitions[0].level

    @property
    def universe_text(self) -> str:
        return self.definitions[0].universe_text

    def concepts(self, parameters: Iterable[str]) -> list[str]:
        return self.definitions[0].concepts(parameters)


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """The indicators (in catalogue order) and the parameters with their defaults."""

    indicators: dict[str, Indicator]
    parameters: dict[str, Any]
    parameter_help: dict[str, str]
    file: str | None = None
    #: parameter -> (min, max) from the catalogue (None where open)
    parameter_bounds: dict[str, tuple[float | None, float | None]] = dataclasses.field(
        default_factory=dict
    )

    def select(self, names: str | Iterable[str] | None) -> list[Indicator]:
        """Indicators by id (``"all"``, a comma-separated string or a list); unknown ids suggest the closest."""
        if names is None:
            wanted = ["all"]
        elif isinstance(names, str):
            wanted = [n.strip() for n in names.split(",") if n.strip()]
        else:
            wanted = [str(n).strip() for n in names]
        if not wanted or "all" in wanted:
            return list(self.indicators.values())
        out: list[Indicator] = []
        for name in wanted:
            if name not in self.indicators:
                close = difflib.get_close_matches(name, list(self.indicators), n=1, cutoff=0.5)
                raise SurvmigError(
                    f"unknown indicator {name!r}",
                    where="indicators",
                    hint=(f"did you mean {close[0]!r}? " if close else "")
                    + "`survmig indicators` lists them, or use 'all'",
                )
            if self.indicators[name] not in out:
                out.append(self.indicators[name])
        return out

    def resolve_parameters(self, overrides: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults updated by ``overrides``; an unknown parameter name suggests the closest."""
        params = dict(self.parameters)
        for key, value in (overrides or {}).items():
            if key not in params:
                close = difflib.get_close_matches(str(key), list(params), n=1)
                raise SurvmigError(
                    f"unknown indicator parameter {key!r}",
                    where="parameters",
                    hint=f"did you mean {close[0]!r}?"
                    if close
                    else "parameters: " + ", ".join(params),
                )
            params[key] = self._checked(key, value)
        return params

    def _checked(self, key: str, value: Any) -> Any:
        """A parameter value of the default's kind (a number for a number) within its bounds."""
        default = self.parameters[key]
        numeric = isinstance(default, int | float) and not isinstance(default, bool)
        if numeric and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise SurvmigError(
                f"parameter {key!r} must be a number, got {value!r}",
                where="--param",
                hint=f"e.g. --param {key}={default}",
            )
        if numeric and isinstance(default, int) and not float(value).is_integer():
            raise SurvmigError(
                f"parameter {key!r} must be a whole number, got {value!r}",
                where="--param",
                hint=f"e.g. --param {key}={default}",
            )
        low, high = self.parameter_bounds.get(key, (None, None))
        if numeric and (low is not None and value < low or high is not None and value > high):
            span = (
                f"between {low:g} and {high:g}"
                if low is not None and high is not None
                else (f"at least {low:g}" if low is not None else f"at most {high:g}")
            )
            raise SurvmigError(
                f"parameter {key!r} must be {span}, got {value!r}",
                where="--param",
                hint=self.parameter_help.get(key) or None,
            )
        return value


def load_catalogue(
    path: str | Path | None = None, concepts: ConceptRegistry | None = None
) -> Catalogue:
    """Load and check the catalogue (the bundled one unless ``path`` is given)."""
    path = Path(path) if path else CATALOGUE_FILE
    if not path.is_file():
        raise SurvmigError("indicator catalogue not found", file=path)
    doc = load_yaml(path)  # line-aware; YAML errors name file and line
    if not isinstance(doc, dict) or not isinstance(doc.get("indicators"), list):
        raise SurvmigError("a catalogue needs a list under 'indicators'", file=path, line=1)
    registry = concepts or load_concepts()
    raw_params = doc.get("parameters") or {}
    parameters = {str(k): (v or {}).get("default") for k, v in raw_params.items()}
    parameter_help = {str(k): str((v or {}).get("description", "")) for k, v in raw_params.items()}
    indicators: dict[str, Indicator] = {}
    lines = {
        str(entry.get("id")): entry.line
        for entry in doc["indicators"]
        if isinstance(entry, dict) and getattr(entry, "line", 0)
    }
    for entry in doc["indicators"]:
        ind = _indicator(entry, registry, parameters, path, lines)
        if ind.id in indicators:
            raise SurvmigError(
                f"indicator {ind.id!r} is defined twice", file=path, line=lines.get(ind.id)
            )
        indicators[ind.id] = ind
    bounds = {str(k): ((v or {}).get("min"), (v or {}).get("max")) for k, v in raw_params.items()}
    return Catalogue(indicators, parameters, parameter_help, str(path), bounds)


def _indicator(
    entry: Any,
    registry: ConceptRegistry,
    parameters: dict[str, Any],
    path: Path,
    lines: dict[str, int],
) -> Indicator:
    if not isinstance(entry, dict) or "id" not in entry:
        raise SurvmigError("every indicator needs an id", file=path)
    iid = str(entry["id"])
    line = lines.get(iid)

    def fail(message: str, hint: str | None = None) -> SurvmigError:
        return SurvmigError(message, file=path, line=line, where=f"indicator {iid}", hint=hint)

    for key in entry:
        if key not in REQUIRED and key not in OPTIONAL:
            close = difflib.get_close_matches(str(key), [*REQUIRED, *OPTIONAL], n=1)
            raise fail(f"unknown field {key!r}", f"did you mean {close[0]!r}?" if close else None)
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise fail(f"missing field(s): {', '.join(missing)}")
    statistic = str(entry["statistic"])
    if statistic not in STATISTICS:
        raise fail(f"unknown statistic {statistic!r}", "use " + ", ".join(STATISTICS))

    def definition(spec: dict[str, Any], base: Definition | None) -> Definition:
        universe = spec.get("universe")
        if universe is not None and (not isinstance(universe, dict) or "expr" not in universe):
            raise fail("universe must be a mapping {expr: …, text: …}")
        d = Definition(
            level=str(spec.get("level", base.level if base else "")),
            universe=str(universe["expr"]) if universe else (base.universe if base else "True"),
            universe_text=str(universe.get("text", ""))
            if universe
            else (base.universe_text if base else ""),
            value=_opt(spec, "value", base),
            denominator=_opt(spec, "denominator", base),
            breakdown=_opt(spec, "breakdown", base),
            multiple=_opt(spec, "multiple", base),
            note=spec.get("note"),
        )
        if d.level not in registry.levels:
            raise fail(f"unknown level {d.level!r}", "levels: " + ", ".join(registry.levels))
        for what, text in d.expressions().items():
            tree = ex.parse(text, where=f"indicator {iid}, {what}")
            values, levels = ex.names(tree)
            for name in sorted(values - set(parameters)):
                if registry.get(name) is None:
                    close = difflib.get_close_matches(name, list(registry.concepts), n=1)
                    raise fail(
                        f"{what} uses {name!r}, which is neither a registered concept nor a parameter",
                        f"did you mean {close[0]!r}?" if close else None,
                    )
            for name in sorted(levels):
                if name not in registry.levels:
                    raise fail(f"{what}: sum_of/count_of level {name!r} is not a registered level")
        if d.multiple is not None:
            concept = registry.get(d.multiple)
            if concept is None or concept.type != "select_multiple":
                raise fail(f"multiple: {d.multiple!r} is not a select_multiple concept")
        if statistic == "ratio" and (d.value is None or d.denominator is None):
            raise fail("a ratio needs value and denominator")
        if statistic != "proportion" and d.value is None:
            raise fail(f"a {statistic} needs a value expression")
        if statistic == "proportion" and d.value is None and not (d.breakdown or d.multiple):
            raise fail("a proportion needs a value (a condition), a breakdown or multiple")
        return d

    main = definition(entry, None)
    variants = entry.get("variants") or []
    if not isinstance(variants, list):
        raise fail("variants must be a list")
    defs = [main]
    for v in variants:
        if not isinstance(v, dict) or any(k not in VARIANT_KEYS for k in v):
            raise fail("a variant may only set " + ", ".join(VARIANT_KEYS))
        defs.append(definition(v, main))
    probs = tuple(float(p) for p in entry.get("probs") or ())
    if statistic == "quantile" and not probs:
        raise fail("a quantile needs probs, e.g. [0.5]")
    return Indicator(
        id=iid,
        title=str(entry["title"]),
        definition=str(entry["definition"]),
        standard=str(entry["standard"]),
        statistic=statistic,
        reference_period=str(entry["reference_period"]),
        unit=str(entry["unit"]),
        definitions=tuple(defs),
        probs=probs,
        line=line,
    )


def _opt(spec: dict[str, Any], key: str, base: Definition | None) -> str | None:
    if key in spec:
        return None if spec[key] is None else str(spec[key])
    return getattr(base, key) if base else None
