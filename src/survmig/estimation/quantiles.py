"""Weighted quantiles by segment with R ``survey``'s ``qrule="math"`` (the default since 4.1).

For each segment (variable × domain) the values are sorted and the cumulative weights accumulated as R
does (in extended precision, ``cumsum``/``sum`` of ``LDOUBLE``); the quantile at ``p`` is the value at
``pos = last(cumw <= p * W)`` when ``p - cumw[pos] / W == 0`` exactly, the next value otherwise. All
segments and probabilities are answered by one sort and one merged ranking — no loop over domains.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass
class SortedSegments:
    """Values sorted within segments, with R-exact cumulative weights."""

    values: np.ndarray  # sorted values (m,)
    cumw: np.ndarray  # cumulative weight within segment, float64 (m,)
    seg: np.ndarray  # segment of each sorted value (m,)
    start: np.ndarray  # (S,) first position of each segment
    size: np.ndarray  # (S,) number of values
    total: np.ndarray  # (S,) segment weight total, float64 (R's sum)


def sort_segments(
    values: np.ndarray, weights: np.ndarray, seg: np.ndarray, n_seg: int
) -> SortedSegments:
    """Sort ``values`` within segments (``seg`` = -1 or zero weight: left out)."""
    keep = (seg >= 0) & (weights != 0)
    v = values[keep]
    w = weights[keep]
    s = seg[keep]
    order = np.lexsort((v, s))  # stable: ties keep row order, as R's order()
    v, w, s = v[order], w[order], s[order]
    size = np.bincount(s, minlength=n_seg)
    start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    cum = np.cumsum(w.astype(np.longdouble))
    base = np.concatenate([[np.longdouble(0)], cum])[start]
    local = cum - base[s]
    end = start + size - 1
    total = np.where(size > 0, (cum[np.maximum(end, 0)] - base).astype(float), 0.0)
    return SortedSegments(v, local.astype(float), s, start, size, total)


def count_at_most(ss: SortedSegments, seg: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """For each query (segment, threshold): how many cumulative weights in the segment are ≤ thr."""
    m = ss.cumw.shape[0]
    q = thr.shape[0]
    keys_seg = np.concatenate([ss.seg, seg])
    keys_val = np.concatenate([ss.cumw, thr])
    is_query = np.concatenate([np.zeros(m, dtype=np.int8), np.ones(q, dtype=np.int8)])
    order = np.lexsort((is_query, keys_val, keys_seg))
    data_before = np.cumsum(is_query[order] == 0)
    pos = np.empty(m + q, dtype=np.int64)
    pos[order] = np.arange(m + q)
    qpos = pos[m:]
    return data_before[qpos] - ss.start[seg]


def qrule_math(ss: SortedSegments, seg: np.ndarray, p: np.ndarray) -> np.ndarray:
    """R's ``qrule_math`` for queries (segment, probability); NaN for empty segments or NaN ``p``."""
    out = np.full(seg.shape[0], np.nan)
    valid = (ss.size[seg] > 0) & np.isfinite(p)
    sg, pp = seg[valid], p[valid]
    total = ss.total[sg]
    cnt = count_at_most(ss, sg, pp * total)
    pos = np.maximum(cnt, 1)  # R's last(): 1 when nothing qualifies
    n = ss.size[sg]
    idx_low = ss.start[sg] + pos - 1
    idx_up = ss.start[sg] + np.where(pos == n, pos, pos + 1) - 1
    wlow = pp - ss.cumw[idx_low] / total
    out[valid] = np.where(wlow == 0, ss.values[idx_low], ss.values[idx_up])
    return out
