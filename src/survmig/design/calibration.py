"""Records of calibration steps that the variance engine needs, mirroring R ``survey``'s ``postStrata``.

After post-stratification, raking or calibration the weights are no longer "design weights": their
variance must use the residuals of the linearized scores on the calibration model (R's ``svyrecvar``
does this with the records ``calibrate()``, ``postStratify()`` and ``rake()`` leave in
``design$postStrata``). The weighting stage builds these records; the estimation engine applies them in
order to the weighted scores before summing them to PSUs, exactly as R does:

* :class:`GregCalibration` — ``x <- qr.resid(qr(mm * whalf), x / w) * w`` with ``w = g * whalf``;
* :class:`PostStratification` — ``x <- x - psw * mean_g(x * oldw / psw)`` (means weighted by ``oldw``);
* :class:`Raking` — ten passes over the margins of ``x <- x - psw * ave(x / psw, margin)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from survmig.errors import SurvmigError


def _vector(name: str, values: object, n: int | None = None, *, dtype: type = float) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    if arr.ndim != 1:
        raise SurvmigError(f"{name} must be a vector, got shape {arr.shape}", where="calibration")
    if n is not None and arr.shape[0] != n:
        raise SurvmigError(
            f"{name} has {arr.shape[0]} values for {n} rows", where="calibration record"
        )
    if dtype is float and not np.all(np.isfinite(arr)):
        raise SurvmigError(f"{name} has missing or infinite values", where="calibration record")
    arr.setflags(write=False)
    return arr


@dataclasses.dataclass(frozen=True, eq=False)
class GregCalibration:
    """Linear-model (GREG) calibration, R's ``greg_calibration`` record at stage 0.

    ``model_matrix`` is the calibration model matrix (n × p), ``qr_weights`` the square roots of the
    weights *before* calibration (R's ``whalf``) and ``weights`` R's ``w = g * whalf``. When
    ``weights`` is omitted, :meth:`SurveyDesign.with_weights` fills it from the new weights
    (``new_weights / qr_weights``, which equals ``g * whalf``).
    """

    model_matrix: np.ndarray
    qr_weights: np.ndarray
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        mm = np.ascontiguousarray(np.asarray(self.model_matrix, dtype=float))
        if mm.ndim == 1:
            mm = mm[:, None]
        if mm.ndim != 2 or not np.all(np.isfinite(mm)):
            raise SurvmigError(
                "the calibration model matrix must be a finite n × p matrix", where="calibration"
            )
        mm.setflags(write=False)
        object.__setattr__(self, "model_matrix", mm)
        object.__setattr__(self, "qr_weights", _vector("qr_weights", self.qr_weights, mm.shape[0]))
        if self.weights is not None:
            object.__setattr__(self, "weights", _vector("weights", self.weights, mm.shape[0]))

    @property
    def n(self) -> int:
        return int(self.model_matrix.shape[0])


@dataclasses.dataclass(frozen=True, eq=False)
class PostStratification:
    """Post-stratification, R's ``postStrata`` index with ``weights`` and ``oldweights`` attributes.

    ``groups`` are integer post-stratum codes (n), ``weights`` the weights after post-stratification,
    ``old_weights`` those before (``None`` = all ones, as R treats a missing ``oldweights``).
    """

    groups: np.ndarray
    weights: np.ndarray
    old_weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        groups = _vector("groups", self.groups, dtype=np.int64)
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "weights", _vector("weights", self.weights, groups.shape[0]))
        if self.old_weights is not None:
            object.__setattr__(
                self, "old_weights", _vector("old_weights", self.old_weights, groups.shape[0])
            )

    @property
    def n(self) -> int:
        return int(self.groups.shape[0])


@dataclasses.dataclass(frozen=True, eq=False)
class Raking:
    """Raking (IPF), R's ``raking`` record: per margin, the group codes and the weights after that
    margin's post-stratification in the last raking pass."""

    margins: Sequence[tuple[np.ndarray, np.ndarray]]

    def __post_init__(self) -> None:
        margins = []
        n = None
        for groups, weights in self.margins:
            g = _vector("raking margin groups", groups, n, dtype=np.int64)
            n = g.shape[0]
            margins.append((g, _vector("raking margin weights", weights, n)))
        if not margins:
            raise SurvmigError("a raking record needs at least one margin", where="calibration")
        object.__setattr__(self, "margins", tuple(margins))

    @property
    def n(self) -> int:
        return int(self.margins[0][0].shape[0])


Calibration = GregCalibration | PostStratification | Raking


def calibration_records(
    current: Sequence[Calibration],
    calibration: Calibration | Sequence[Calibration],
    weights: np.ndarray,
) -> tuple[Calibration, ...]:
    """The records of a design whose weights became ``weights``: one record is appended to
    ``current``, a sequence replaces them all. Each must cover the design's rows; a
    :class:`GregCalibration` without ``weights`` gets ``weights / qr_weights`` (R's ``g * whalf``)."""
    n = weights.shape[0]
    if isinstance(calibration, GregCalibration | PostStratification | Raking):
        records = (*current, calibration)
    else:
        records = tuple(calibration)
    fixed = []
    for rec in records:
        if rec.n != n:
            raise SurvmigError(
                f"a calibration record covers {rec.n} rows, the design has {n}",
                where="calibration",
            )
        if isinstance(rec, GregCalibration) and rec.weights is None:
            # g * whalf; a unit with zero weight before calibration keeps zero (not 0/0)
            g_whalf = np.divide(
                weights, rec.qr_weights, out=np.zeros_like(weights), where=rec.qr_weights != 0
            )
            rec = dataclasses.replace(rec, weights=g_whalf)
        fixed.append(rec)
    return tuple(fixed)
