"""Primary and secondary suppression: nothing published lets a reader recover a suppressed number.

Primary suppression blanks every column of a suppressed row from which its estimate could be
derived (see :data:`BLANKED`): the estimate, its SE, CI and CV, the design effect (with the SE and
``n`` it gives the estimate of a proportion back), the weighted count (which *is* the estimate of a
total), the design df and the case count ``n`` (in a self-weighting design ``n`` times the weight is
the total). The flag stays and says why.

Secondary suppression: a suppressed cell is still recoverable when it is the one unknown of an
additive relation between published cells — a national total minus the published regions, a share
of a distribution as one minus the other shares, a breakdown of counts under a published total.
:func:`linked_groups` finds those relations *in the true numbers* (a relation is only used when it
holds), :func:`recoverable` lists groups with exactly one suppressed member, and
:func:`complementary_suppression` suppresses, in each such group, the published member with the
fewest cases (never the group's total when another member will do) until no group is left.

Across rows: the weighted count of a domain is the estimate of its population size (a ``count``)
and, times a published mean of a 0/1 variable, gives that variable's total back.
:func:`domain_weighted_n` blanks the weighted count in every row of a domain where a total or a
count is suppressed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: columns blanked in a suppressed row (the flag and the domain stay)
BLANKED = ("estimate", "se", "ci_low", "ci_high", "cv", "deff", "deft", "n", "weighted_n", "df")
#: the flag of a cell suppressed only so that another suppressed cell cannot be recovered
FLAG_COMPLEMENTARY = "suppressed: complementary"
#: how to handle recoverable suppressed cells: suppress a complementary cell, or only flag them
SECONDARY = ("suppress", "flag")
#: statistics whose domain estimates add up to the parent's (means and shares weighted by the
#: weighted counts, which are published for every published cell)
_ADDITIVE = ("total", "mean", "proportion")
_RTOL = 1e-7


def _keys(table: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    """One string per row from ``cols`` (missing values as a marker), to group and join on."""
    if not cols:
        return pd.Series("", index=table.index)
    parts = [table[c].astype(object).where(table[c].notna(), "\x00").astype(str) for c in cols]
    out = parts[0]
    for p in parts[1:]:
        out = out + "\x1f" + p
    return out


def _domain_groups(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """(row, group, is_parent) for every breakdown of a cell by one more domain variable."""
    present = [b for b in by if b in table.columns]
    if not present:
        return pd.DataFrame(columns=["row", "group", "parent"])
    base = table[table["statistic"].isin(_ADDITIVE)]
    notnull = base[present].notna()
    pattern = notnull.apply(lambda r: "".join("1" if v else "0" for v in r), axis=1)
    lead = _keys(base, ["indicator", "statistic", "category"])
    out = []
    for j, b in enumerate(present):
        child = base[notnull[b]]
        if child.empty:
            continue
        # the parent of a cell broken down by b: the same cell with b (and only b) missing
        masked = child[present].astype(object).copy()
        masked[b] = None
        parent_pattern = (
            pattern[child.index].str.slice(0, j) + "0" + pattern[child.index].str.slice(j + 1)
        )
        gkey = lead[child.index] + "|" + b + "|" + parent_pattern + "|" + _keys(masked, present)
        out.append(pd.DataFrame({"row": child.index, "group": gkey.to_numpy(), "parent": False}))
        own = lead + "|" + b + "|" + pattern + "|" + _keys(base[present].astype(object), present)
        parents = own[own.isin(set(gkey))]
        out.append(
            pd.DataFrame({"row": parents.index, "group": parents.to_numpy(), "parent": True})
        )
    return (
        pd.concat(out, ignore_index=True)
        if out
        else pd.DataFrame(columns=["row", "group", "parent"])
    )


def _category_groups(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """(row, group, is_parent): the categories of one distribution in one domain.

    Shares of a distribution sum to one (a known total); counts by category sum to the row of the
    same domain whose estimate is their sum (another indicator's total, e.g. all emigrants).
    """
    present = [b for b in by if b in table.columns]
    cat = table[table["category"].notna() & table["statistic"].isin(("total", "proportion"))]
    if cat.empty:
        return pd.DataFrame(columns=["row", "group", "parent"])
    dom = _keys(table, present)
    gkey = "cat|" + _keys(cat, ["indicator", "statistic"]) + "|" + dom[cat.index]
    est = pd.to_numeric(cat["estimate"], errors="coerce")
    sums = est.groupby(gkey).sum()
    sizes = gkey.value_counts()
    rows = [pd.DataFrame({"row": cat.index, "group": gkey.to_numpy(), "parent": False})]
    share = cat["statistic"].eq("proportion").groupby(gkey).first()
    # a distribution of shares: the total (1) is known to every reader
    full = share & np.isclose(sums.reindex(share.index), 1.0, rtol=0, atol=1e-9)
    known = pd.Series(False, index=sizes.index)
    known[full[full].index] = True
    # counts under a published total of the same domain
    totals = table[table["category"].isna() & table["statistic"].eq("total")]
    if len(totals):
        cand = pd.DataFrame(
            {
                "row": totals.index,
                "dom": dom[totals.index].to_numpy(),
                "value": pd.to_numeric(totals["estimate"], errors="coerce").to_numpy(),
            }
        )
        groups = pd.DataFrame({"group": sums.index, "sum": sums.to_numpy()})
        groups = groups[~share.reindex(groups["group"]).to_numpy()]
        group_dom = pd.Series(dom[cat.index].to_numpy(), index=gkey.to_numpy())
        groups["dom"] = groups["group"].map(group_dom.groupby(level=0).first())
        match = groups.merge(cand, on="dom")
        match = match[np.isclose(match["sum"], match["value"], rtol=_RTOL, atol=0)]
        match = match.drop_duplicates("group")
        rows.append(pd.DataFrame({"row": match["row"], "group": match["group"], "parent": True}))
    out = pd.concat(rows, ignore_index=True)
    out.attrs["known_total"] = set(known[known].index)
    return out


def _holds(table: pd.DataFrame, groups: pd.DataFrame) -> pd.Series:
    """Groups whose additive relation holds in the true numbers (parent = sum of the children)."""
    est = pd.to_numeric(table["estimate"], errors="coerce")
    wn = pd.to_numeric(
        table.get("weighted_n", pd.Series(np.nan, index=table.index)), errors="coerce"
    )
    stat = table["statistic"]
    g = groups.assign(
        est=est[groups["row"]].to_numpy(),
        wn=wn[groups["row"]].to_numpy(),
        weighted=stat[groups["row"]].isin(("mean", "proportion")).to_numpy(),
    )
    g["mass"] = np.where(g["weighted"], g["est"] * g["wn"], g["est"])
    kids = g[~g["parent"]].groupby("group")[["mass", "wn"]].sum()
    par = g[g["parent"]].groupby("group")[["mass", "wn", "weighted"]].first()
    both = par.join(kids.add_suffix("_kids"), how="inner")
    weighted = both["weighted"].to_numpy(dtype=bool)
    ok = np.isclose(
        both["mass"].to_numpy(dtype=float),
        both["mass_kids"].to_numpy(dtype=float),
        rtol=_RTOL,
        atol=1e-9,
    ) & (
        ~weighted
        | np.isclose(both["wn"].to_numpy(float), both["wn_kids"].to_numpy(float), rtol=_RTOL)
    )
    known = groups.attrs.get("known_total", set())
    good = set(both.index[ok]) | set(known)
    unique = groups["group"].unique()
    return pd.Series([g in good for g in unique], index=unique, dtype=bool)


def linked_groups(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Cells tied by an additive relation that holds: columns ``row`` (index label of ``table``),
    ``group`` and ``parent`` (the group's total; a distribution of shares has none: its total is 1).

    ``table`` holds the true (unblanked) estimates and ``weighted_n``.
    """
    dom = _domain_groups(table, by)
    cat = _category_groups(table, by)
    known = cat.attrs.get("known_total", set())
    groups = pd.concat([dom, cat], ignore_index=True)
    groups = groups.astype({"row": "int64", "parent": bool})  # an empty part leaves object dtypes
    groups.attrs["known_total"] = known
    if groups.empty:
        return groups
    holds = _holds(table, groups)
    return groups[groups["group"].map(holds).fillna(False).astype(bool).to_numpy()].reset_index(
        drop=True
    )


def recoverable(groups: pd.DataFrame, suppressed: pd.Series) -> pd.DataFrame:
    """Members of groups with exactly one suppressed member (that member is the total minus the rest).

    Returns the suppressed rows that can be recovered with the group that recovers each."""
    if groups.empty:
        return pd.DataFrame(columns=["row", "group"])
    s = suppressed.reindex(groups["row"]).to_numpy(dtype=bool)
    count = pd.Series(s).groupby(groups["group"].to_numpy()).transform("sum").to_numpy()
    hit = s & (count == 1)
    return groups.loc[hit, ["row", "group"]].reset_index(drop=True)


def complementary_suppression(
    table: pd.DataFrame, groups: pd.DataFrame, suppressed: pd.Series
) -> pd.Series:
    """Rows to suppress as complements (index-aligned boolean), so no group has exactly one
    suppressed member. In each such group the published member with the fewest cases is chosen
    (ties: the smallest estimate), the group's total only when it is the only one left."""
    extra = pd.Series(False, index=table.index)
    if groups.empty:
        return extra
    n = pd.to_numeric(table["n"], errors="coerce").fillna(0)
    est = pd.to_numeric(table["estimate"], errors="coerce").abs().fillna(0)
    members = groups.assign(
        n=n[groups["row"]].to_numpy(), est=est[groups["row"]].to_numpy()
    ).sort_values(["parent", "n", "est"], kind="stable")
    mask = suppressed.copy().astype(bool)
    for _ in range(len(table) + 1):
        hits = recoverable(groups, mask)
        if hits.empty:
            break
        cand = members[members["group"].isin(hits["group"]) & ~mask[members["row"]].to_numpy()]
        pick = cand.drop_duplicates("group")["row"].unique()
        if len(pick) == 0:
            break
        mask[pick] = True
        extra[pick] = True
    return extra


def domain_weighted_n(table: pd.DataFrame, by: Sequence[str], suppressed: pd.Series) -> pd.Series:
    """Rows whose ``weighted_n`` must be blanked too (index-aligned boolean): every row of a domain
    (the same values of the ``by`` columns, the national rows being one domain) in which a
    suppressed row is a total or a count, since the domain's weighted count is its population
    size and, times a share or mean, a total."""
    present = [b for b in by if b in table.columns]
    dom = _keys(table, present)
    hit = suppressed.to_numpy(dtype=bool) & table["statistic"].isin(("total", "count")).to_numpy()
    return pd.Series(dom.isin(set(dom[hit])).to_numpy(), index=table.index)
