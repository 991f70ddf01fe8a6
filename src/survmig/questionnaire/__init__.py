"""Questionnaire specs and composition: modules adapted to a country become one Questionnaire.

Public API::

    load_spec(path) -> Spec                       # read and check a spec file
    compose(spec, library=None) -> Questionnaire  # adapt, place and check the modules
    load_questionnaire(path) -> Questionnaire     # both
    compose_texts(spec) -> (Questionnaire, Translator)  # no language check; every text by key
    Questionnaire.variables() -> list[Variable]   # name, type, level, path, labels, choices, concept, pii...
"""

from survmig.questionnaire.compose import compose, compose_texts, load_questionnaire
from survmig.questionnaire.model import Questionnaire, Variable
from survmig.questionnaire.spec import METADATA, SPEC_SCHEMA, Spec, language_label, load_spec

__all__ = [
    "METADATA",
    "SPEC_SCHEMA",
    "Questionnaire",
    "Spec",
    "Variable",
    "compose",
    "compose_texts",
    "language_label",
    "load_questionnaire",
    "load_spec",
]
