"""Data exchange: indicator tables as SDMX (:func:`write_sdmx`; :mod:`survmig.exchange.sdmx` says
which SDG global DSD codes are used and what is our own)."""

from survmig.exchange.sdmx import observations, read_back, series_code, write_sdmx

__all__ = ["observations", "read_back", "series_code", "write_sdmx"]
