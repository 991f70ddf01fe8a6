"""The translation sheet: every text of a questionnaire in one workbook, and back to a YAML overlay.

Sheet ``translations``: one row per text (``key``, ``kind``, ``where`` it is written, one column per
language, ``note``). Cells whose text comes from the modules or the spec are grey and read-only
(import refuses a changed one: module texts change through the spec's ``override``); cells to fill
are yellow: empty ones, earlier translations, and names pycountry gave (editable, prefilled; a name
pycountry only has in English is noted "check"). A hidden sheet ``survmig`` keeps what was exported,
so import can tell which cells were edited, which rows were added, deleted or duplicated, and which
source text each translation was made from.
"""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path
from typing import Any

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path, check_output_file, note_input
from survmig.modules.schema import LANG_PATTERN
from survmig.questionnaire.spec import Spec, language_label, load_spec
from survmig.translations.overlay import Problem, TextUnit, Translator, placeholders, write_overlay

MAIN, STATE = "translations", "survmig"
FIXED_COLUMNS = ("key", "kind", "where")
EDITABLE = frozenset({"empty", "translation", "generated"})
#: scripts written right to left: their cells are right-aligned, reading order RTL
RTL = frozenset({"ar", "fa", "he", "ur", "ps", "yi", "dv", "ug", "sd", "ckb"})
FORMAT = "1"


@dataclasses.dataclass
class ExportResult:
    rows: int
    languages: list[str]
    to_fill: dict[str, int]  # language -> cells still to fill
    problems: list[Problem]  # bad entries of the spec's translation files (reported, not fatal)


def _with_languages(spec: Spec, extra: list[str]) -> Spec:
    for code in extra:
        if not re.fullmatch(LANG_PATTERN, code):
            lower = code.lower()
            raise SurvmigError(
                f"language code {code!r}: write two or three lower-case letters"
                + (f" ({lower})" if re.fullmatch(LANG_PATTERN, lower) else ""),
                hint="an ISO 639-1 code (pt, es, sw) or ISO 639-3 (kea); no region (pt, not pt-BR)",
            )
        try:
            language_label(code)
        except KeyError:
            raise SurvmigError(
                f"unknown language code {code!r}",
                hint="use an ISO 639-1 code (pt, es, sw) or ISO 639-3 (kea)",
            ) from None
    languages = [*spec.languages, *(c for c in extra if c not in spec.languages)]
    return dataclasses.replace(spec, languages=languages)


def collect(spec_path: str | Path, extra: list[str]) -> tuple[Spec, Translator]:
    """Compose ``spec_path`` with ``extra`` languages added; every text by key."""
    from survmig.questionnaire.compose import compose_texts

    spec = _with_languages(load_spec(spec_path), extra)
    _, translator = compose_texts(spec)
    return spec, translator


def _note(unit: TextUnit, lang: str, source_language: str) -> str | None:
    if lang in unit.stale:
        old, translation = unit.stale[lang]
        return (
            f"{lang}: the {source_language} text changed since the translation; it was "
            f"{old!r}, translated {translation!r}"
        )
    if (
        unit.origin.get(lang) == "generated"
        and lang != source_language
        and unit.text.get(lang) == unit.text.get(source_language)
    ):
        return f"{lang}: pycountry has this name only in {source_language}: check it"
    return None


def export_sheet(
    spec_path: str | Path, out: str | Path, languages: list[str] | None = None
) -> ExportResult:
    """Write the translation sheet of a spec, with a column for each of ``languages`` added."""
    check_output_file(out, [spec_path])
    spec, translator = collect(spec_path, list(languages or []))
    source = spec.default_language
    units = list(translator.units.values())
    bad = translator.entry_problems()
    header = [*FIXED_COLUMNS, *(language_label(lang) for lang in spec.languages), "note"]
    rows, states = [], []
    to_fill = dict.fromkeys(spec.languages, 0)
    for unit in units:
        cells, notes = [], []
        for lang in spec.languages:
            value = unit.text.get(lang, "")
            state = unit.origin.get(lang, "empty")
            if lang == source and state in EDITABLE:
                state = "source"  # the text translated from: never edited in the sheet
            cells.append(value)
            states.append([unit.key, lang, state, value])
            if state == "empty" and lang != source:
                to_fill[lang] += 1
            note = _note(unit, lang, source)
            if note:
                notes.append(note)
        rows.append([unit.key, unit.kind, unit.where, *cells, "; ".join(notes) or None])
    meta = [
        ["format", FORMAT],
        ["spec", str(Path(spec_path))],
        ["form_id", spec.form_id],
        ["source_language", source],
        ["languages", " ".join(spec.languages)],
    ]
    data = _workbook(header, rows, states, meta, spec.languages)
    out = Path(out)
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    return ExportResult(len(rows), spec.languages, {k: v for k, v in to_fill.items() if v}, bad)


def _workbook(
    header: list[str],
    rows: list[list[Any]],
    states: list[list[str]],
    meta: list[list[str]],
    languages: list[str],
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from survmig.tableio import text_cells_as_text

    wb = Workbook()
    ws = wb.active
    ws.title = MAIN
    ws.append(header)
    for row in rows:
        ws.append(row)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[1]:
        cell.font = bold
        cell.fill = head_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    widths = {"key": 44, "kind": 24, "where": 36, "note": 48}
    fixed = len(FIXED_COLUMNS)
    for index, name in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(index)].width = widths.get(name, 46)
    editable = PatternFill("solid", fgColor="FFF2CC")
    readonly = PatternFill("solid", fgColor="F2F2F2")
    grey = Font(color="595959")
    top = Alignment(vertical="top", wrap_text=True)
    rtl = Alignment(vertical="top", wrap_text=True, horizontal="right", readingOrder=2)
    state_of = {(k, lang): s for k, lang, s, _ in states}
    for r, row in enumerate(rows, start=2):
        for c in range(1, fixed + 1):
            cell = ws.cell(r, c)
            cell.font, cell.alignment = grey, top
        for i, lang in enumerate(languages):
            cell = ws.cell(r, fixed + 1 + i)
            cell.fill = editable if state_of[(row[0], lang)] in EDITABLE else readonly
            cell.alignment = rtl if lang in RTL else top
        ws.cell(r, len(header)).alignment = top
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows) + 1}"

    how = wb.create_sheet("how to")
    for line in (
        ["How to use this sheet"],
        ["Fill the yellow cells of your language's column (empty cells, earlier translations,"],
        ["and names from pycountry that you may correct). Grey cells come from the modules or"],
        ["the spec: leave them as they are (change those texts with an 'override' in the spec)."],
        ["Keep {{parameter}} and ${question} references exactly as in the source text."],
        ["Do not rename, move or delete columns or rows; the hidden sheet 'survmig' must stay."],
        ["Then: survmig translations import THIS.xlsx -o translations/LANG.yaml"],
        ["and list the file under 'translations:' in the spec (with the language in 'languages')."],
    ):
        how.append(line)
    how["A1"].font = bold
    how.column_dimensions["A"].width = 100

    st = wb.create_sheet(STATE)
    for row in meta:
        st.append(row)
    st.append([])
    st.append(["key", "language", "state", "value"])
    for row in states:
        st.append(row)
    st.sheet_state = "hidden"
    text_cells_as_text(wb)  # a text starting with '=' stays text
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


@dataclasses.dataclass
class ImportResult:
    path: Path
    languages: list[str]
    texts: int
    missing: dict[str, list[str]]  # language -> keys still without a text


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # a line break typed in Excel on Windows or kept by LibreOffice may be \r\n: the form uses \n
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _read(path: Path) -> tuple[dict[str, str], list[str], list[tuple[Any, ...]], list[list[str]]]:
    from openpyxl import load_workbook

    note_input(path)
    try:
        wb = load_workbook(path, data_only=True)
    except FileNotFoundError:
        raise SurvmigError("file not found", file=path) from None
    except Exception as err:  # openpyxl raises many types for a file that is not an xlsx
        raise SurvmigError(
            f"not an .xlsx workbook ({type(err).__name__})",
            file=path,
            hint="give the sheet written by survmig translations export, saved as .xlsx "
            "(LibreOffice: File > Save As > Excel 2007-365; not .ods or .csv)",
        ) from None
    absent = [name for name in (MAIN, STATE) if name not in wb.sheetnames]
    if absent:
        which = " and ".join(
            f"'{name}'" + (" (hidden)" if name == STATE else "") for name in absent
        )
        raise SurvmigError(
            f"no sheet {which}: not a sheet written by survmig translations export, or a sheet "
            "was renamed or deleted",
            file=path,
            hint=f"its sheets: {', '.join(wb.sheetnames)}; export again and copy the "
            "translations into the new sheet",
        )
    st = list(wb[STATE].iter_rows(values_only=True))
    blank = next((i for i, row in enumerate(st) if not any(row)), len(st))
    meta = {str(r[0]): _cell_text(r[1]) for r in st[:blank] if r and r[0] is not None}
    states = [[_cell_text(v) for v in r[:4]] for r in st[blank + 2 :] if r and r[0] is not None]
    if meta.get("format") != FORMAT or not states:
        raise SurvmigError(
            f"the hidden sheet '{STATE}' was changed or comes from another survmig version",
            file=path,
            hint="export the sheet again and copy the translations into it",
        )
    main = list(wb[MAIN].iter_rows(values_only=True))
    header = [_cell_text(v) for v in main[0]] if main else []
    return meta, header, main[1:], states


def import_sheet(
    sheet: str | Path,
    out: str | Path,
    *,
    languages: list[str] | None = None,
    spec_path: str | Path | None = None,
) -> ImportResult:
    """Check a filled translation sheet and write its translations as a YAML overlay.

    Every problem is listed (one line each) in one error, and then nothing is written: edited
    read-only cells, added, deleted or duplicated rows, renamed or moved columns, translations that
    drop or add a ``{{parameter}}`` or ``${question}``, and (with ``spec_path``) rows whose source
    text changed in the spec since the export.
    """
    sheet = Path(sheet)
    check_output_file(out, [sheet, *([spec_path] if spec_path else [])])
    meta, header, body, states = _read(sheet)
    source = meta["source_language"]
    sheet_langs = meta["languages"].split()
    expected = [*FIXED_COLUMNS, *(language_label(lang) for lang in sheet_langs), "note"]
    errors: list[str] = []
    for index, want in enumerate(expected):
        got = header[index] if index < len(header) else ""
        if got != want:
            errors.append(
                f"column {index + 1}: header {got!r}, exported as {want!r}: columns must not be "
                "renamed, moved, added or deleted"
            )
    if len(header) > len(expected) and any(header[len(expected) :]):
        errors.append(f"columns after {expected[-1]!r} were added: remove them")
    if errors:
        raise _problems(sheet, errors)
    exported: dict[str, dict[str, tuple[str, str]]] = {}
    for key, lang, state, value in states:
        exported.setdefault(key, {})[lang] = (state, value)
    wanted = [lang for lang in sheet_langs if lang != source]
    if languages:
        unknown = [lang for lang in languages if lang not in sheet_langs]
        if unknown:
            raise SurvmigError(
                f"the sheet has no column for {', '.join(unknown)}",
                file=sheet,
                hint=f"its languages: {', '.join(sheet_langs)}",
            )
        wanted = [lang for lang in languages if lang != source]
    current = _current_sources(spec_path, sheet, meta, sheet_langs) if spec_path else None
    seen: dict[str, int] = {}
    texts: dict[str, dict[str, str]] = {}
    missing: dict[str, list[str]] = {lang: [] for lang in wanted}
    fixed = len(FIXED_COLUMNS)
    for r, row in enumerate(body, start=2):
        cells = [_cell_text(v) for v in row]
        if not any(cells):
            continue
        key = cells[0]
        if not key:
            errors.append(f"row {r}: no key (rows must not be added)")
            continue
        if key in seen:
            errors.append(f"row {r}: key {key} is also on row {seen[key]}: delete one of them")
            continue
        seen[key] = r
        if key not in exported:
            errors.append(f"row {r}: key {key} was not exported (rows must not be added)")
            continue
        src_text = exported[key].get(source, ("", ""))[1]
        if current is not None:
            if key not in current:
                errors.append(f"row {r}: {key}: the spec no longer has this text")
                continue
            if current[key] != src_text:
                errors.append(
                    f"row {r}: {key}: the {source} text changed in the spec since the export "
                    f"(now {current[key]!r}): export again"
                )
                continue
        entry: dict[str, str] = {}
        for i, lang in enumerate(sheet_langs):
            value = cells[fixed + i] if fixed + i < len(cells) else ""
            state, before = exported[key].get(lang, ("empty", ""))
            column = language_label(lang)
            if state not in EDITABLE:
                if value != before:
                    origin = {"spec": "spec", "source": "source texts"}.get(state, "modules")
                    errors.append(
                        f"row {r}, column {column}: {key}: this cell comes from the "
                        f"{origin} and was changed; only "
                        "yellow cells are imported (revert it; change module texts with an "
                        "override in the spec)"
                    )
                continue
            if lang not in wanted:
                continue
            if not value:
                missing[lang].append(key)
                continue
            if state == "generated" and value == before:
                continue  # pycountry's name, unchanged: nothing to overlay
            lost = placeholders(src_text) - placeholders(value)
            added = placeholders(value) - placeholders(src_text)
            if lost or added:
                drift = [f"lost {', '.join(sorted(lost))}"] if lost else []
                drift += [f"added {', '.join(sorted(added))}"] if added else []
                errors.append(
                    f"row {r}, column {column}: {key}: the translation must use the same "
                    f"{{{{parameters}}}} and ${{references}} as the {source} text "
                    f"({'; '.join(drift)})"
                )
                continue
            if not src_text:
                errors.append(f"row {r}: {key}: no {source} text to translate from")
                continue
            entry[lang] = value
        if entry:
            texts[key] = {source: src_text, **entry}
    gone = [key for key in exported if key not in seen]
    errors += [
        f"key {key}: its row was deleted (rows must stay: put it back from a new export)"
        for key in gone[:20]
    ]
    if len(gone) > 20:
        errors.append(f"(+{len(gone) - 20} more deleted rows)")
    if errors:
        raise _problems(sheet, errors)
    used = [lang for lang in wanted if any(lang in t for t in texts.values())]
    if not texts:
        raise SurvmigError(
            f"nothing to import: no yellow cell of {', '.join(wanted) or 'any language'} is filled",
            file=sheet,
        )
    out = Path(out)
    write_overlay(out, texts, source_language=source, languages=used, origin=sheet.name)
    return ImportResult(out, used, len(texts), {k: v for k, v in missing.items() if v})


def _current_sources(
    spec_path: str | Path, sheet: Path, meta: dict[str, str], languages: list[str]
) -> dict[str, str]:
    source = meta["source_language"]
    spec = load_spec(spec_path)
    if meta.get("form_id") and meta["form_id"] != spec.form_id:
        raise SurvmigError(
            f"the sheet was exported from form {meta['form_id']!r} ({meta.get('spec', '?')}), "
            f"not from this spec's form {spec.form_id!r} ({spec_path})",
            file=sheet,
            hint="give the spec the sheet was exported from, or export a sheet from this spec",
        )
    if spec.default_language != source:
        raise SurvmigError(
            f"the sheet translates from {source!r}, the spec's default_language is "
            f"{spec.default_language!r}",
            file=spec.file,
        )
    _, translator = collect(spec_path, [lang for lang in languages if lang not in spec.languages])
    return {k: u.text.get(source, "") for k, u in translator.units.items()}


def _problems(sheet: Path, errors: list[str]) -> SurvmigError:
    lines = "".join(f"\n  {e}" for e in errors)
    return SurvmigError(
        f"{len(errors)} problem(s); nothing written:{lines}",
        file=sheet,
    )
