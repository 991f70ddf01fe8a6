"""The standard module library: every module, every text in en/fr/ar, the spec's content facts."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from survmig.conventions import LANGUAGES
from survmig.modules import Item, Module, load_library, modules_dir
from survmig.modules.choices import country_list, currency_list

ROOT = Path(__file__).resolve().parents[2]
STANDARD_MODULES = {
    "household_roster",
    "census_core",
    "emigrants",
    "return_migrants",
    "intending_migrants",
    "forced_migrants",
    "remittances",
    "labour_migration",
    "recruitment_cost",
    "community",
    "household_characteristics",
}
TEXT_FIELDS = ("label", "hint", "universe", "constraint_message", "required_message")


@pytest.fixture(scope="module")
def library():
    return load_library()


def walk(items: list[Item]) -> Iterator[Item]:
    for item in items:
        yield item
        yield from walk(item.children)


def module_texts(module: Module) -> Iterator[tuple[str, object]]:
    """Every human-readable text of a module, with where it is."""
    yield f"{module.id}: title", module.title
    yield f"{module.id}: universe", module.universe
    if module.description is not None:
        yield f"{module.id}: description", module.description
    for item in walk(module.items):
        for field in TEXT_FIELDS:
            text = getattr(item, field)
            if text is not None:
                yield f"{module.id}: {item.name}.{field}", text
    for cl in module.choices.values():
        for choice in cl.options:
            yield f"{module.id}: list {cl.name} option {choice.name}", choice.label


def test_the_library_has_every_standard_module(library):
    assert set(library.modules) >= STANDARD_MODULES


def missing_languages(library) -> list[str]:
    """Where a text of a module or of a shared list lacks (or has blank) en, fr or ar."""
    missing = []
    for module in library.modules.values():
        for where, text in module_texts(module):
            missing += [
                f"{where} [{lang}]" for lang in LANGUAGES if not str(text.get(lang, "")).strip()
            ]
    for cl in library.shared_choices.values():
        for choice in cl.options:
            missing += [
                f"shared list {cl.name} option {choice.name} [{lang}]"
                for lang in LANGUAGES
                if not str(choice.label.get(lang, "")).strip()
            ]
    return missing


def test_every_text_of_every_module_and_shared_list_is_in_english_french_and_arabic(library):
    missing = missing_languages(library)
    assert not missing, "texts missing a language:\n" + "\n".join(missing)


ARABIC = re.compile("[\u0600-\u06ff]")


def test_every_arabic_text_is_in_arabic_script(library):
    """An English text copied into the Arabic column passes the "every language is there" check;
    this one catches it (issue 12: "Türkiye" and 49 currency names were English in Arabic)."""
    latin_only = [
        where
        for module in library.modules.values()
        for where, text in module_texts(module)
        if not ARABIC.search(text["ar"])
    ] + [
        f"shared list {cl.name} option {c.name}"
        for cl in library.shared_choices.values()
        for c in cl.options
        if not ARABIC.search(c.label["ar"])
    ]
    assert not latin_only, latin_only
    for generated in (country_list(LANGUAGES), currency_list(LANGUAGES)):
        latin = [c.name for c in generated.options if not ARABIC.search(c.label["ar"])]
        assert not latin, (generated.name, latin)


def test_the_language_check_catches_a_missing_hint_and_choice_label(tmp_path):
    """Remove one Arabic hint and one French choice label from a copy: the check must name both."""
    root = tmp_path / "modules"
    shutil.copytree(modules_dir(), root, ignore=shutil.ignore_patterns("*.md"))
    path = root / "recruitment_cost.yaml"
    text = path.read_text(encoding="utf-8")
    hint_ar = (
        "          ar: أدرج من عادوا منذ ذلك الحين. لا تحتسب رحلات العمل القصيرة أو العطلات أو الدراسة."
        " وإذا حدث الأمران، فالانتقال الأحدث.\n"
    )
    assert text.count(hint_ar) == 1
    text = text.replace(hint_ar, "")
    text = text.replace("{en: Per week, fr: Par semaine, ar:", "{en: Per week, ar:")
    path.write_text(text, encoding="utf-8")
    missing = missing_languages(load_library(root))
    assert missing == [
        "recruitment_cost: rc_moved_for_job.hint [ar]",
        "recruitment_cost: list rc_pay_period option 3 [fr]",
    ]
    amount = load_library(root).modules["recruitment_cost"].item("rc_amount")
    assert any("\u0600" <= ch <= "\u06ff" for ch in amount.label["ar"])
    assert amount.label["fr"] != amount.label["en"]


def test_every_question_has_a_concept_and_names_are_flagged_pii(library):
    for module in library.modules.values():
        for item in walk(module.items):
            if item.kind == "question" and item.type != "note":
                assert item.concept, (module.id, item.name)
            if item.concept in {"person_name", "return_migrant_name", "date_of_birth"}:
                assert item.pii, (module.id, item.name)
    assert library.modules["emigrants"].item("em_name").pii
    assert library.modules["return_migrants"].item("ret_name").pii


def test_every_module_cites_its_standard(library):
    expected = {
        "emigrants": "MED-HIMS MQ2",
        "return_migrants": "MED-HIMS MQ3",
        "intending_migrants": "MED-HIMS MQ4",
        "forced_migrants": "MED-HIMS MQ5",
        "remittances": "MED-HIMS MQ6",
        "community": "MED-HIMS MQ7",
        "household_characteristics": "MED-HIMS MQ1",
        "labour_migration": "ILO 20th ICLS",
        "recruitment_cost": "SDG 10.7.1 ILO-WB",
        "census_core": "UN P&R Rev.3",
    }
    for module_id, short in expected.items():
        assert short in [s.short for s in library.modules[module_id].sources], module_id


def test_thresholds_are_parameters_with_the_shared_names(library):
    roster = library.modules["household_roster"].parameters
    shared = {
        "emigrants": ("reference_years", "usual_residence_months", "migrant_min_age"),
        "return_migrants": ("reference_years", "min_months_abroad", "migrant_min_age"),
        "intending_migrants": ("migrant_min_age", "min_months_abroad", "forced_min_age"),
        "forced_migrants": ("forced_min_age", "min_months_abroad"),
        "labour_migration": ("usual_residence_months", "activity_min_age"),
        "recruitment_cost": ("usual_residence_months", "activity_min_age"),
    }
    for module_id, names in shared.items():
        params = library.modules[module_id].parameters
        for name in names:
            assert params[name].default == roster[name].default, (module_id, name)
    # one rule for membership and emigration: an emigrant is abroad for more than the
    # usual-residence rule, so nobody is both a member and an emigrant (UN 2021 framework)
    assert "min_months_abroad" not in library.modules["emigrants"].parameters
    assert (
        "{{usual_residence_months}}" in library.modules["emigrants"].item("em_dep_month").constraint
    )
    assert roster["forced_min_age"].default == 15
    assert library.modules["return_migrants"].parameters["return_definition"].values == (
        "un_1998",
        "medhims",
    )
    assert (
        library.modules["recruitment_cost"].parameters["recruitment_reference_years"].default == 3
    )
    assert library.modules["intending_migrants"].parameters["intending_max_age"].default == 59
    assert library.modules["forced_migrants"].parameters["ask_legal_status"].default is True
    # no literal window in the emigrant departure year: it comes from the parameters
    assert "{{reference_years}}" in library.modules["emigrants"].item("em_dep_year").constraint


def test_routing_comes_from_the_roster_screens_and_repeats_its_conditions(library):
    """Counts and relevance repeat the conditions they rely on, so an answer kept after it became
    non-relevant (Enketo's default) cannot route anyone (issue 12, stale answers)."""
    modules = library.modules
    assert (
        modules["emigrants"].item("emigrant_roster").repeat_count
        == "if(${hh_emigrant_any} = 1, ${hh_n_emigrants}, 0)"
    )
    assert modules["return_migrants"].item("return_roster").repeat_count == "${hh_n_returnees}"
    roster = modules["household_roster"]
    assert roster.item("hh_n_returnees").calculation == (
        "count(${members}[age >= {{migrant_min_age}} and returned_migrant = 1])"
    )
    assert roster.item("hh_n_forced").calculation == (
        "count(${members}[age >= {{forced_min_age}} and forced_to_leave = 1])"
    )
    assert modules["forced_migrants"].item("fm_block").relevant == (
        "${age} >= {{forced_min_age}} and ${forced_to_leave} = 1"
    )
    intending = modules["intending_migrants"].item("im_block").relevant
    for condition in (
        "${age} >= {{migrant_min_age}}",
        "${age} <= {{intending_max_age}}",
        "${returned_migrant} = 0",
        "${forced_to_leave} = 0",
        "${cc_born_here} = 1",
        "${cc_ever_abroad} = 0",
    ):
        assert condition in intending, condition
    assert "indexed-repeat(${age}, ${members}, .) >= {{migrant_min_age}}" in (
        modules["return_migrants"].item("ret_member").constraint
    )
    remittances = modules["remittances"]
    assert remittances.item("rem_senders").repeat_count == (
        "if(${rem_received} = 1, ${rem_n_senders}, 0)"
    )
    link = remittances.item("rem_emigrant_line").constraint
    assert "indexed-repeat(${em_sends}, ${emigrant_roster}, .) = 1" in link
    assert "count(../../rem_senders[rem_emigrant_line = current()]) = 1" in link


def test_year_windows_come_from_the_survey_year_and_the_interview_date(library):
    """No window is fixed to the survey year at its upper end: fieldwork may run into the next
    year. The lower end of a reference window is the survey round's (survey_year - N)."""
    for module in library.modules.values():
        for item in walk(module.items):
            for text in (item.constraint or "", item.calculation or ""):
                assert "<= {{survey_year}}" not in text, (module.id, item.name)
    roster = library.modules["household_roster"]
    assert roster.item("int_year").calculation == "int(format-date(today(), '%Y'))"
    age = roster.item("age").calculation
    assert "div 365.25" not in age and "format-date(${date_of_birth}, '%m')" in age


def test_sdg_10_7_1_items_and_earnings(library):
    module = library.modules["recruitment_cost"]
    items = module.item("rc_items")
    assert items.level == "recruitment_cost_item" and items.repeat_count == "6"
    notes = [i for i in walk(items.children) if i.type == "note"]
    assert [n.relevant for n in notes] == [f"${{rc_item}} = {k}" for k in range(1, 7)]
    concepts = {i.concept for i in walk(items.children) if i.concept}
    assert {
        "recruitment_cost_item",
        "recruitment_cost_paid",
        "recruitment_cost_amount",
        "recruitment_cost_currency",
        "recruitment_cost_deducted",
        "recruitment_cost_reimbursed",
        "recruitment_cost_refund_amount",
    } <= concepts
    top = {i.concept for i in walk(module.items) if i.concept}
    assert {
        "first_month_earnings",
        "first_month_earnings_currency",
        "first_earnings_pay_period",
        "moved_for_job_recent",
        "recruitment_wage_worker",
    } <= top
    target = module.item("rc_target")
    assert target.relevant == (
        "(${rc_moved_for_job} = 1 or ${rc_moved_for_job} = 2) and ${rc_changed_residence} = 1"
        " and ${rc_wage_worker} = 1"
    )
    # destination side: a worker recruited into the survey country names it as the destination
    assert "name = '{{country}}'" in module.item("rc_destination").choice_filter
    assert [c.name for c in module.choices["rc_move"].options] == ["1", "2", "0"]
    assert [c.name for c in module.choices["rc_pay_period"].options] == ["1", "2", "3", "4", "5"]
    assert module.item("rc_earn_hours").relevant == "${rc_earn_period} = 5"


def test_answer_categories_of_the_spec(library):
    channel = library.modules["remittances"].choices["rem_channel"]
    assert len(channel.options) == 17  # the World Bank 17-code channel frame
    assert [c.name for c in channel.options] == [str(k) for k in range(1, 18)]  # 17 = other
    assert channel.options[-1].label["en"] == "Other"
    frequency = library.modules["remittances"].choices["rem_frequency"]
    assert [c.label["en"] for c in frequency.options] == [
        "Every week",
        "Every two weeks",
        "Every month",
        "Every two months",
        "Every three months (quarterly)",
        "Every four months",
        "Every six months (twice a year)",
        "Once a year",
        "Irregularly",
    ]
    reasons = library.modules["return_migrants"].choices["ret_reason"]
    assert [c.name for c in reasons.options] == ["1", "2", "3", "4", "5", "6", "7", "96"]
    jobs = library.shared_choices["job_search_channel"]
    assert len(jobs.options) == 6
    legal = library.modules["forced_migrants"].choices["fm_legal_status"]
    assert {"1", "2", "6"} <= {c.name for c in legal.options}
    assert set(legal.specials) == {"dont_know", "refused"}
