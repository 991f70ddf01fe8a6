"""SurveyDesign construction, design.yaml, with_weights and replicate creation."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survmig.design import (
    GregCalibration,
    PostStratification,
    SurveyDesign,
    load_design,
)
from survmig.design.replicates import hadamard, matrix_rank
from survmig.errors import SurvmigError
from survmig.estimation import estimate


def test_immutable_and_structure(rfix) -> None:
    c2 = rfix.dataset("apiclus2")
    d = SurveyDesign(c2, ids=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    with pytest.raises(AttributeError):
        d.lonely_psu = "remove"
    assert not d.weights.flags.writeable
    assert len(d.stages) == 2
    # stage-2 strata are the stage-1 clusters; weights from the fpc are N1/n1 * N2/n2 (R)
    assert d.stages[1].n_strata == c2["dnum"].nunique()
    np.testing.assert_allclose(d.weights, c2["pw"], rtol=1e-3)
    assert d.df == c2["dnum"].nunique() - 1


def test_probs_and_fractions_equal_weights_and_sizes(rfix) -> None:
    st = rfix.dataset("apistrat")
    n_h = st.groupby("stype")["stype"].transform("size")
    a = SurveyDesign(st, strata="stype", weights="pw", fpc="fpc")
    b = SurveyDesign(
        st.assign(p=1 / st["pw"], frac=n_h / st["fpc"]), strata="stype", probs="p", fpc="frac"
    )
    ea, eb = estimate(a, mean="api00", total="enroll"), estimate(b, mean="api00", total="enroll")
    np.testing.assert_allclose(ea["se"], eb["se"], rtol=1e-12)


def test_yaml_errors_name_file_line_and_field(tmp_path: Path, rfix) -> None:
    st = rfix.dataset("apistrat")
    path = tmp_path / "design.yaml"
    path.write_text("strata: stype\nweights: pw\nfpc: fpc\nlonely_psu: averge\n")
    with pytest.raises(SurvmigError) as err:
        load_design(path, st)
    msg = err.value.format()
    assert "design.yaml:4" in msg and "'average'" in msg
    path.write_text("strata: stype\nweights: [pw]\n")
    with pytest.raises(SurvmigError, match="weights must be a column name"):
        load_design(path, st)
    path.write_text("strata: stype\nweights: pw\nscale: 2\n")
    with pytest.raises(SurvmigError, match="replicate design"):
        load_design(path, st)
    path.write_text("strata: [stype\n")
    with pytest.raises(SurvmigError, match="design.yaml:2: YAML syntax error"):
        load_design(path, st)


def test_yaml_create_replicates(tmp_path: Path, rfix) -> None:
    st = rfix.dataset("apistrat")
    path = tmp_path / "design.yaml"
    path.write_text("strata: stype\nweights: pw\ncreate_replicates:\n  type: JKn\n")
    d = load_design(path, st)
    assert d.is_replicate and d.replicate_weights.type == "JKn"
    assert d.replicate_weights.n_replicates == len(st)
    # JKn without fpc: the jackknife variance of a total equals the linearization one
    lin = SurveyDesign(st, strata="stype", weights="pw")
    assert estimate(d, total="enroll")["se"].iloc[0] == pytest.approx(
        estimate(lin, total="enroll")["se"].iloc[0], rel=1e-10
    )


def test_with_weights(rfix) -> None:
    c1 = rfix.dataset("apiclus1")
    d = SurveyDesign(c1, ids="dnum", weights="pw", fpc="fpc")
    w2 = d.weights * 2
    d2 = d.with_weights(w2)
    assert d2.stages is d.stages and d2.calibration == ()
    assert estimate(d2, total="enroll")["estimate"].iloc[0] == pytest.approx(
        2 * estimate(d, total="enroll")["estimate"].iloc[0]
    )
    g = pd.factorize(c1["stype"], sort=True)[0]
    rec = PostStratification(g, w2, d.weights)
    d3 = d.with_weights(w2, calibration=rec)
    assert d3.calibration == (rec,)
    d4 = d3.with_weights(w2)  # None keeps the records
    assert d4.calibration == (rec,)
    greg = GregCalibration(np.ones((d.n, 1)), np.sqrt(d.weights))
    d5 = d3.with_weights(w2, calibration=greg)  # one record is appended, its w filled in
    assert len(d5.calibration) == 2
    np.testing.assert_allclose(d5.calibration[1].weights, w2 / np.sqrt(d.weights))
    with pytest.raises(SurvmigError, match="shape"):
        d.with_weights(w2[:-1])
    # replicate designs: new weights rescale the replicates unless replicates are given
    rep = SurveyDesign.replicate(
        c1.assign(r1=c1["pw"] * 0.5, r2=c1["pw"] * 1.5),
        repweights=["r1", "r2"],
        type="bootstrap",
        weights="pw",
    )
    rep2 = rep.with_weights(rep.weights * 3)
    np.testing.assert_allclose(rep2.repweights, rep.repweights * 3)
    with pytest.raises(SurvmigError, match="replicate weights have shape"):
        rep.with_weights(rep.weights, repweights=np.ones((3, 2)))


def test_replicate_bad_input(rfix) -> None:
    st = rfix.dataset("apistrat").assign(r1=1.0, r2=2.0)
    with pytest.raises(SurvmigError, match="need rscales"):
        SurveyDesign.replicate(st, repweights=["r1", "r2"], type="JKn", weights="pw")
    with pytest.raises(SurvmigError, match="rho"):
        SurveyDesign.replicate(st, repweights=["r1", "r2"], type="Fay", weights="pw")
    with pytest.raises(SurvmigError, match="no column matches"):
        SurveyDesign.replicate(st, repweights="^zz", type="JK1", weights="pw")
    with pytest.raises(SurvmigError, match="unknown replicate type"):
        SurveyDesign.replicate(st, repweights=["r1", "r2"], type="jackknife", weights="pw")
    lin = SurveyDesign(st, strata="stype", weights="pw")
    with pytest.raises(SurvmigError, match="exactly two PSUs"):
        lin.to_replicate("BRR")
    with pytest.raises(SurvmigError, match="unstratified"):
        lin.to_replicate("JK1")
    with pytest.raises(SurvmigError, match="before calibrating"):
        lin.with_weights(
            lin.weights, calibration=PostStratification(np.zeros(lin.n), lin.weights)
        ).to_replicate()


def test_lonely_psu_rules_for_jkn_replicates(rfix) -> None:
    c1 = rfix.dataset("apiclus1")
    with pytest.raises(SurvmigError, match="only one PSU"):
        SurveyDesign(c1, strata="dnum", weights="pw").to_replicate("JKn")
    d = SurveyDesign(c1, strata="dnum", weights="pw", lonely_psu="adjust").to_replicate("JKn")
    # R's jknweights: one "delete the stratum" replicate per singleton, rscale (H - 1) / H
    sizes = c1.groupby("dnum").size()
    H, singletons = len(sizes), int((sizes == 1).sum())
    rs = d.replicate_weights.rscales
    assert d.replicate_weights.n_replicates == len(c1)
    assert int(np.isclose(rs, (H - 1) / H).sum()) == singletons


def test_hadamard_and_rank() -> None:
    h = hadamard(13)
    assert h.shape == (16, 16)
    np.testing.assert_array_equal(h @ h.T, 16 * np.eye(16))
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5000, 30))
    b = np.column_stack([a, a[:, :3] @ rng.normal(size=(3, 4))])  # 4 dependent columns
    assert matrix_rank(a) == 30 and matrix_rank(b) == 30


def test_multistage_needs_every_fpc(rfix) -> None:
    c2 = rfix.dataset("apiclus2")
    with pytest.raises(SurvmigError, match="fpc for every stage"):
        SurveyDesign(c2, ids=["dnum", "snum"], fpc=["fpc1"], variance="multistage")


def test_remove_rule_warns(rfix) -> None:
    c1 = rfix.dataset("apiclus1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimate(SurveyDesign(c1, strata="dnum", weights="pw", lonely_psu="remove"), mean="api00")
        n_remove = len(caught)
        estimate(
            SurveyDesign(c1, strata="dnum", weights="pw", lonely_psu="certainty"), mean="api00"
        )
    assert n_remove == 1 and "add no variance" in str(caught[0].message)
    assert len(caught) == 1  # certainty: the same numbers, silently (R)


def test_greg_variance_with_zero_weight_units_follows_r_formula() -> None:
    """Units whose weight is zero (e.g. kept nonrespondents) add nothing to a GREG variance.

    Reference: R's svyrecvar residualisation ``x <- qr.resid(qr(mm*whalf), x/w)*w`` evaluated by
    brute force on the positive-weight units, zero scores elsewhere, then the with-replacement
    stratified variance of PSU totals.
    """
    rng = np.random.default_rng(7)
    n = 240
    frame = pd.DataFrame(
        {
            "stratum": np.repeat([1, 2, 3], n // 3),
            "psu": np.repeat(np.arange(24), n // 24),
            "x": rng.gamma(2.0, 3.0, n),
        }
    )
    frame["y"] = 5 + 2 * frame["x"] + rng.normal(0, 2, n)
    w0 = rng.uniform(5, 15, n)
    zero = rng.random(n) < 0.15
    design = SurveyDesign(frame, ids=["psu"], strata="stratum", weights=w0)
    mm = np.column_stack([np.ones(n), frame["x"].to_numpy()])
    whalf = np.sqrt(np.where(zero, 0.0, w0))
    g = np.where(zero, 0.0, rng.uniform(0.8, 1.2, n))  # calibrated weights = w0 * g
    new_w = np.where(zero, 0.0, w0 * g)
    calibrated = design.with_weights(new_w, calibration=GregCalibration(mm, whalf))
    got = estimate(calibrated, total="y")

    pos = ~zero
    x = new_w * frame["y"].to_numpy()  # linearised scores of a total
    w_r = g * whalf
    q, _ = np.linalg.qr(mm[pos] * whalf[pos, None])
    xs = x[pos] / w_r[pos]
    resid = np.zeros(n)
    resid[pos] = (xs - q @ (q.T @ xs)) * w_r[pos]
    psu_tot = pd.Series(resid).groupby(frame["psu"]).sum()
    strat = frame.groupby("psu")["stratum"].first()
    var = 0.0
    for _, tot in psu_tot.groupby(strat):
        var += len(tot) / (len(tot) - 1) * ((tot - tot.mean()) ** 2).sum()
    assert np.isfinite(got["se"].iloc[0]) and got["se"].iloc[0] > 0
    assert got["se"].iloc[0] == pytest.approx(np.sqrt(var), rel=1e-10)
    assert got["estimate"].iloc[0] == pytest.approx((new_w * frame["y"]).sum(), rel=1e-12)
