"""Project-wide coding conventions shared by the modules, the data readers and the estimators.

Special answers are coded the same way in every module: in select lists and in numeric questions.
They are kept in the data as labelled values and treated as missing for estimation — never recoded
silently.
"""

from __future__ import annotations

DONT_KNOW = -8
REFUSED = -9

#: special code -> (concept of the special value, English label)
SPECIAL_CODES: dict[int, tuple[str, str]] = {
    DONT_KNOW: ("dont_know", "Don't know"),
    REFUSED: ("refused", "Refused"),
}

#: The three standard languages: code -> XLSForm language label (used in ``label::<name>`` columns).
LANGUAGES: dict[str, str] = {
    "en": "English (en)",
    "fr": "Français (fr)",
    "ar": "العربية (ar)",
}

#: The strictest common limit on variable names (Survey Solutions).
MAX_NAME_LENGTH = 32
