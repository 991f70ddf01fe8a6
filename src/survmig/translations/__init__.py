"""Adding a language to a questionnaire without editing the modules.

``survmig translations export`` writes every text of a composed questionnaire (module texts, answer
lists, generated names, the title) to a sheet with one column per language; a translator fills the
new language's column; ``survmig translations import`` checks the sheet and writes a *translation
file* (YAML) that the spec lists under ``translations:``. Compose applies it as an overlay between the
module texts and the spec's own ``override`` (:mod:`survmig.translations.overlay`); each entry keeps
the source-language text it translates, so a translation whose source changed since is reported as
stale, never used silently.
"""

from __future__ import annotations

from survmig.translations.overlay import (
    MissingTexts,
    Overlay,
    Problem,
    TextUnit,
    load_overlay,
    write_overlay,
)

__all__ = ["MissingTexts", "Overlay", "Problem", "TextUnit", "load_overlay", "write_overlay"]
