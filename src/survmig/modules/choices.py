"""Generated answer lists (countries, currencies) from a maintained source, never typed by hand.

Country names come from ``pycountry`` (ISO 3166-1, alpha-3 codes) and their French and Arabic names
from pycountry's own gettext catalogues (domain ``iso3166-1``); currencies likewise from ISO 4217
(domain ``iso4217``). Where a catalogue lacks a translation, :mod:`survmig.modules.names` supplies
it (pycountry's Arabic currency catalogue misses some, e.g. ``XOF``, and has no Arabic "Türkiye");
what is still missing falls back to English and :func:`missing_translations` lists it. Only
circulating currencies are offered (no funds codes, metals, SDR, testing codes).

UN M49 regions are not included: no maintained M49 source is installed with survmig (pycountry does
not carry M49 regions).
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from pathlib import Path

import pycountry

from survmig.modules.model import Choice, ChoiceList
from survmig.modules.names import COUNTRY_NAMES, CURRENCY_NAMES, NON_CIRCULATING

#: Names of the generated lists; a module or the shared file may not define lists with these names.
GENERATED_LISTS = ("countries", "currencies")


@functools.cache
def _catalogue(domain: str, language: str) -> gettext.NullTranslations | None:
    if language == "en":
        return gettext.NullTranslations()
    locales = Path(pycountry.LOCALES_DIR)
    if not (locales / language / "LC_MESSAGES" / f"{domain}.mo").exists():
        return None
    return gettext.translation(domain, str(locales), languages=[language])


def available_languages(domain: str = "iso3166-1") -> list[str]:
    """Language codes for which pycountry ships names in ``domain``."""
    locales = Path(pycountry.LOCALES_DIR)
    found = {p.parent.parent.name for p in locales.glob(f"*/LC_MESSAGES/{domain}.mo")}
    return sorted(found | {"en"})


_SUPPLEMENT = {"iso3166-1": COUNTRY_NAMES, "iso4217": CURRENCY_NAMES}


def _translate(
    domain: str, english: str, languages: tuple[str, ...], code: str | None = None
) -> dict[str, str]:
    out = {}
    for lang in languages:
        catalogue = _catalogue(domain, lang)
        if catalogue is not None:
            name = catalogue.gettext(english)
            if name == english and lang != "en":
                name = _SUPPLEMENT[domain].get(lang, {}).get(code or "", name)
            out[lang] = name
    return out


def _normalise(name: str) -> str:
    """Case, accents, punctuation and spacing do not matter: ``Côte d'Ivoire`` = ``COTE D IVOIRE``."""
    text = unicodedata.normalize("NFKD", str(name).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


@functools.cache
def _country_names() -> dict[str, str]:
    """Normalised country name (English, French, Arabic; short, official and common) -> alpha-3."""
    out: dict[str, str] = {}
    for c in pycountry.countries:
        english = [getattr(c, a) for a in ("name", "official_name", "common_name") if hasattr(c, a)]
        for name in english:
            for translated in _translate("iso3166-1", name, ("en", "fr", "ar"), c.alpha_3).values():
                out.setdefault(_normalise(translated), c.alpha_3)
        out.setdefault(_normalise(c.alpha_2), c.alpha_3)
    return out


def country_code_for(name: str) -> str | None:
    """The ISO 3166-1 alpha-3 code of a country written by name in English, French or Arabic (or
    as an alpha-2 code): ``TUNISIA``, ``Tunisie``, ``تونس`` and ``TN`` all give ``TUN``."""
    return _country_names().get(_normalise(name))


@functools.cache
def country_list(languages: tuple[str, ...] = ("en", "fr", "ar")) -> ChoiceList:
    """ISO 3166-1 countries, alpha-3 codes, ordered by English name; labels in ``languages``."""
    countries = sorted(pycountry.countries, key=lambda c: c.name)
    options = tuple(
        Choice(c.alpha_3, _translate("iso3166-1", c.name, languages, c.alpha_3)) for c in countries
    )
    return ChoiceList("countries", options, specials=("dont_know",), origin="generated")


@functools.cache
def currency_list(languages: tuple[str, ...] = ("en", "fr", "ar")) -> ChoiceList:
    """Circulating ISO 4217 currencies, ordered by code; labels ``name (CODE)`` in ``languages``."""
    currencies = sorted(
        (c for c in pycountry.currencies if c.alpha_3 not in NON_CIRCULATING),
        key=lambda c: c.alpha_3,
    )
    options = tuple(
        Choice(
            c.alpha_3,
            {
                lang: f"{name} ({c.alpha_3})"
                for lang, name in _translate("iso4217", c.name, languages, c.alpha_3).items()
            },
        )
        for c in currencies
    )
    return ChoiceList("currencies", options, specials=("dont_know",), origin="generated")


def generated_list(name: str, languages: tuple[str, ...]) -> ChoiceList:
    """The generated list called ``name`` (one of :data:`GENERATED_LISTS`)."""
    return {"countries": country_list, "currencies": currency_list}[name](tuple(languages))


def country_name(alpha_3: str, language: str) -> str | None:
    """The name of one country in one language, or ``None`` when it is unknown."""
    country = pycountry.countries.get(alpha_3=alpha_3.upper())
    if country is None:
        return None
    return _translate("iso3166-1", country.name, (language,), country.alpha_3).get(language)


def currency_name(alpha_3: str, language: str) -> str | None:
    """The name of one currency in one language, or ``None`` when it is unknown."""
    currency = pycountry.currencies.get(alpha_3=alpha_3.upper())
    if currency is None:
        return None
    return _translate("iso4217", currency.name, (language,), currency.alpha_3).get(language)


def missing_translations(language: str) -> dict[str, list[str]]:
    """Codes whose name in ``language`` falls back to English (for the record, not an error)."""
    out: dict[str, list[str]] = {}
    for domain, records in (("iso3166-1", pycountry.countries), ("iso4217", pycountry.currencies)):
        catalogue = _catalogue(domain, language)
        if catalogue is None or language == "en":
            continue
        out[domain] = [
            r.alpha_3
            for r in records
            if _translate(domain, r.name, (language,), r.alpha_3)[language] == r.name
            and not (domain == "iso4217" and r.alpha_3 in NON_CIRCULATING)
        ]
    return out
