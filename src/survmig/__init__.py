"""survmig — migration modules for household surveys: design, weighting, estimation, sampling."""

__version__ = "0.1.0"
