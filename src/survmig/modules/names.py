"""Corrections to pycountry's lists: codes that are not money people hold, and missing Arabic names.

pycountry carries the whole ISO 4217 list, including codes no household is paid or sends money in:
the funds codes (ISO 4217 List One marks them as funds) and the codes with no country (precious
metals, bond-market units, the SDR, the Sucre, the ADB unit, the Arab Accounting Dinar, the testing
and "no currency" codes). A questionnaire offers circulating currencies only.

pycountry's Arabic catalogues lack some names; the form would show English in the Arabic column.
The names below are the usual Arabic names of these currencies (as used by the central banks and
the Arabic press; the ISO code stays in every label, so an interviewer can always tell them apart).
"""

from __future__ import annotations

#: ISO 4217 codes that do not circulate: funds codes, then codes with no country.
NON_CIRCULATING = frozenset(
    {
        # funds (ISO 4217 List One, "Fund")
        "BOV", "CHE", "CHW", "CLF", "COU", "MXV", "USN", "UYI", "UYW",
        # no country: metals, bond-market units, SDR, Sucre, ADB unit, Arab Accounting Dinar,
        # testing, no currency
        "XAG", "XAU", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XAD",
        "XTS", "XXX",
    }
)  # fmt: skip

#: language -> ISO 4217 code -> name, where pycountry's catalogue has none
CURRENCY_NAMES: dict[str, dict[str, str]] = {
    "ar": {
        "AWG": "فلورن أروبي",
        "AZN": "مانات أذربيجاني",
        "BTN": "نغولترم بوتاني",
        "CVE": "إسكودو الرأس الأخضر",
        "GHS": "سيدي غاني",
        "GMD": "دالاسي غامبي",
        "GNF": "فرنك غيني",
        "GTQ": "كتزال غواتيمالي",
        "KES": "شلن كيني",
        "KHR": "رييل كمبودي",
        "KMF": "فرنك قمري",
        "LAK": "كيب لاوي",
        "MGA": "أرياري مدغشقري",
        "MKD": "دينار مقدوني",
        "MRU": "أوقية موريتانية",
        "MWK": "كواشا ملاوية",
        "MYR": "رينغيت ماليزي",
        "MZN": "متكال موزمبيقي",
        "NIO": "كوردوبا نيكاراغوي",
        "PAB": "بالبوا بنمي",
        "SRD": "دولار سورينامي",
        "SVC": "كولون سلفادوري",
        "SZL": "ليلانغيني إسواتيني",
        "UGX": "شلن أوغندي",
        "UZS": "سوم أوزبكي",
        "VED": "بوليفار فنزويلي سيادي",
        "VES": "بوليفار فنزويلي سيادي",
        "XAF": "فرنك وسط أفريقي",
        "XCG": "غيلدر كاريبي",
        "XOF": "فرنك غرب أفريقي",
        "XPF": "فرنك المحيط الهادئ",
        "YER": "ريال يمني",
        "ZWG": "ذهب زيمبابوي",
    },
}

#: language -> ISO 3166-1 alpha-3 -> name, where pycountry's catalogue has none (pycountry renamed
#: TUR "Türkiye" and the Arabic catalogue has no entry for the new name)
COUNTRY_NAMES: dict[str, dict[str, str]] = {
    "ar": {"TUR": "تركيا"},
}
