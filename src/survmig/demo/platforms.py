"""The demo's fieldwork written as each platform hands it out (``survmig demo --platform``).

ODK Central's CSV zip (the default), KoboToolbox's XLSX export as its web UI makes it (typed cells,
date-times in the devices' time without offset, media URLs) or SurveyCTO's wide CSV. The devices'
clock runs on :data:`DEVICE_TIMEZONE`; the import is told so (``--timezone``), and the pipeline
then gives the same data, weights and estimates from every shape.
"""

from __future__ import annotations

from pathlib import Path

from survmig.data import Dataset, FormMetadata, write_central_export
from survmig.data.platform_exports import write_kobo_xlsx, write_surveycto_export

PLATFORMS = ("odk-central", "kobo", "surveycto")
#: the synthetic country's clock (West Africa Time, no summer time)
DEVICE_TIMEZONE = "Africa/Lagos"
_WHAT = {
    "odk-central": "an ODK Central export",
    "kobo": "a KoboToolbox XLSX export",
    "surveycto": "a SurveyCTO wide CSV export",
}


def export_name(form_id: str, platform: str) -> str:
    return {
        "odk-central": f"{form_id}.zip",
        "kobo": f"{form_id}-kobo.xlsx",
        "surveycto": f"{form_id}_WIDE.csv",
    }[platform]


def describe(platform: str) -> str:
    return _WHAT[platform]


def write_fieldwork(
    submissions: Dataset, form: FormMetadata, folder: Path, platform: str
) -> tuple[Path, dict[str, str]]:
    """Write the export; return its path and the import options it needs."""
    path = folder / export_name(form.form_id, platform)
    if platform == "odk-central":
        write_central_export(submissions, form, path)
        return path, {}
    if platform == "kobo":
        write_kobo_xlsx(submissions, form, path, device_timezone=DEVICE_TIMEZONE)
    else:
        write_surveycto_export(submissions, form, path, server_timezone=DEVICE_TIMEZONE)
    return path, {"timezone": DEVICE_TIMEZONE}
