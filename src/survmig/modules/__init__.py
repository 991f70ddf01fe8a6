"""The question-module library: load, check and look up modules, concepts and choice lists.

Public API::

    load_library(root=None) -> Library          # every module of modules/ (checked), concepts, lists
    load_module(path) -> Module                 # one module file (checked against the library)
    load_concepts(path=None) -> ConceptRegistry
    load_shared_choices(path=None) -> dict[str, ChoiceList]
    modules_dir() -> Path                       # where the library lives (installed or source tree)
    country_list(languages) / currency_list(languages) -> ChoiceList   # generated from pycountry
"""

from survmig.modules.choices import (
    GENERATED_LISTS,
    country_list,
    country_name,
    currency_list,
    currency_name,
)
from survmig.modules.library import (
    BUILTIN_PARAMETERS,
    ConceptRegistry,
    Library,
    load_concepts,
    load_library,
    load_module,
    load_shared_choices,
    modules_dir,
)
from survmig.modules.model import (
    Choice,
    ChoiceList,
    Concept,
    Item,
    Module,
    Parameter,
    Source,
)
from survmig.modules.schema import MODULE_SCHEMA

__all__ = [
    "BUILTIN_PARAMETERS",
    "GENERATED_LISTS",
    "MODULE_SCHEMA",
    "Choice",
    "ChoiceList",
    "Concept",
    "ConceptRegistry",
    "Item",
    "Library",
    "Module",
    "Parameter",
    "Source",
    "country_list",
    "country_name",
    "currency_list",
    "currency_name",
    "load_concepts",
    "load_library",
    "load_module",
    "load_shared_choices",
    "modules_dir",
]
