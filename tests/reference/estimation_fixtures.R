# Reference values for survmig's estimation engine, from R survey (4.1-1 in Debian).
#
# Run from the repository root:  Rscript tests/reference/estimation_fixtures.R
# Writes tests/reference/estimation_fixtures.json: the data sets (api samples and a synthetic clustered
# migration survey) and, per case, the design, the request and R's results.
#
# Conventions of the comparison (the same as survmig's):
# * domains are estimated on subset(design, domain) as svyby does; confidence intervals use the
#   degrees of freedom of the *whole* design (degf(design)), t quantiles;
# * beta (Korn-Graubard) intervals inside a domain follow svyciprop's formula with the domain's number
#   of rows and the whole design's df; Wilson intervals (not in survey 4.1) are computed by formula;
# * quantiles: qrule = "math", Woodruff intervals (interval.type = "mean"), SE = CI width / (2 t).

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE, survey.replicates.mse = FALSE)

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"

data(api)
keep <- c("stype", "dnum", "snum", "cnum", "api00", "api99", "enroll", "api.stu", "meals", "ell",
          "acs.k3", "avg.ed", "sch.wide", "awards", "yr.rnd", "pw")
apisrs <- apisrs[, c(keep, "fpc")]
apistrat <- apistrat[, c(keep, "fpc")]
apiclus1 <- apiclus1[, c(keep, "fpc")]
apiclus2 <- apiclus2[, c(keep, "fpc1", "fpc2")]
for (nm in c("apisrs", "apistrat", "apiclus1", "apiclus2")) {
  d <- get(nm)
  for (v in c("stype", "sch.wide", "awards", "yr.rnd")) d[[v]] <- as.character(d[[v]])
  d$yes <- as.numeric(d$sch.wide == "Yes")
  d$one <- 1
  d$p <- 1 / d$pw
  assign(nm, d)
}

# --- a synthetic clustered migration survey ------------------------------------------------------
set.seed(20240601)
strata_n <- 12
rows <- list()
for (h in 1:strata_n) {
  n_ea <- sample(3:6, 1)
  N_ea <- n_ea * sample(8:20, 1)
  for (e in 1:n_ea) {
    M_hh <- sample(60:200, 1)
    m_hh <- sample(6:12, 1)
    rate <- rbeta(1, 0.4, 4)          # migration is clustered: EA-level prevalence
    for (k in 1:m_hh) {
      size <- sample(1:8, 1, prob = c(.12, .16, .18, .17, .14, .11, .07, .05))
      remit <- rbinom(1, 1, min(0.9, 0.05 + 2 * rate))
      amount <- if (remit == 1) round(rlnorm(1, 6 + 0.3 * (h %% 3), 0.8), 2) else NA
      rows[[length(rows) + 1]] <- data.frame(
        stratum = h, region = paste0("R", (h - 1) %/% 3 + 1), urban = ifelse(h %% 2 == 0, "urban", "rural"),
        ea = e, hh = k, person = 1:size, hhsize = size,
        sex = sample(c("F", "M"), size, replace = TRUE),
        age = sample(0:80, size, replace = TRUE),
        migrant = rbinom(size, 1, rate),
        remit = remit, amount = amount,
        N_ea = N_ea, M_hh = M_hh, w = (N_ea / n_ea) * (M_hh / m_hh))
    }
  }
}
mig <- do.call(rbind, rows)
mig$agegroup <- cut(mig$age, c(-1, 14, 29, 59, 200), labels = c("0-14", "15-29", "30-59", "60+"))
mig$agegroup <- as.character(mig$agegroup)
mig$one <- 1
# a stratification with one single-EA stratum, for the singleton rules
mig$stratum2 <- ifelse(mig$stratum == 1 & mig$ea == 1, "1b", as.character(mig$stratum))
# pairs of EAs (first two per stratum) for BRR
migpairs <- mig[mig$ea <= 2, ]

datasets <- list(apisrs = apisrs, apistrat = apistrat, apiclus1 = apiclus1, apiclus2 = apiclus2,
                 mig = mig, migpairs = migpairs)

# --- helpers -----------------------------------------------------------------------------------------
cases <- list()
tq <- function(df, level = 0.95) if (is.infinite(df)) qnorm(1 - (1 - level) / 2) else qt(1 - (1 - level) / 2, df)

num <- function(x) if (is.null(x) || length(x) == 0) NA else as.numeric(x)[1]

stat_row <- function(statistic, variable, category, dom, est, se, df, level, deff = NA,
                     lo = NULL, hi = NULL) {
  t <- tq(df, level)
  if (is.null(lo)) { lo <- est - t * se; hi <- est + t * se }
  c(list(statistic = statistic, variable = variable, category = category), dom,
    list(estimate = num(est), se = num(se), ci_low = num(lo), ci_high = num(hi), deff = num(deff)))
}

# all rows for one design and request (domain by domain, as svyby subsets)
estimate_rows <- function(design, req, df) {
  level <- if (is.null(req$level)) 0.95 else req$level
  narm <- !is.null(req$na) && req$na == "drop"
  ci <- if (is.null(req$ci)) "t" else req$ci
  by <- unlist(req$by)
  vars <- design$variables
  if (length(by)) {
    key <- do.call(paste, c(lapply(by, function(b) vars[[b]]), sep = "\r"))
    levels_ <- sort(unique(key))
  } else {
    key <- rep("all", nrow(vars)); levels_ <- "all"
  }
  out <- list()
  for (lev in levels_) {
    sub <- design[key == lev, ]
    dom <- list()
    if (length(by)) {
      first <- which(key == lev)[1]
      for (b in by) dom[[b]] <- vars[[b]][first]
    }
    for (v in unlist(req$mean)) {
      m <- svymean(as.formula(paste0("~`", v, "`")), sub, na.rm = narm, deff = TRUE)
      out[[length(out) + 1]] <- stat_row("mean", v, NULL, dom, coef(m), SE(m), df, level, deff(m))
    }
    for (v in unlist(req$total)) {
      m <- svytotal(as.formula(paste0("~`", v, "`")), sub, na.rm = narm, deff = TRUE)
      out[[length(out) + 1]] <- stat_row("total", v, NULL, dom, coef(m), SE(m), df, level, deff(m))
    }
    for (v in unlist(req$prop)) {
      cats <- sort(unique(na.omit(vars[[v]])))
      for (cc in cats) {
        sub2 <- sub
        sub2$variables$.ind <- as.numeric(sub$variables[[v]] == cc)
        m <- svymean(~.ind, sub2, na.rm = narm, deff = TRUE)
        p <- unname(coef(m)); s <- unname(SE(m))
        lo <- NULL; hi <- NULL
        if (ci %in% c("logit", "beta")) {
          if (ci == "beta" && length(by)) {   # svyciprop's formula with the whole design's df
            alpha <- 1 - level
            ok <- if (narm) !is.na(sub2$variables$.ind) else rep(TRUE, nrow(sub2))
            n.eff <- p * (1 - p) / s^2 * (qt(alpha / 2, sum(ok) - 1) / qt(alpha / 2, df))^2
            lo <- qbeta(alpha / 2, n.eff * p, n.eff * (1 - p) + 1)
            hi <- qbeta(1 - alpha / 2, n.eff * p + 1, n.eff * (1 - p))
          } else {
            cp <- svyciprop(~.ind, sub2, method = if (ci == "logit") "xlogit" else "beta",
                            level = level, df = df, na.rm = narm)
            lo <- unname(confint(cp)[1]); hi <- unname(confint(cp)[2])
          }
        } else if (ci == "wilson") {
          z <- tq(df, level); n <- p * (1 - p) / s^2
          lo <- (p + z^2 / (2 * n) - z * sqrt(p * (1 - p) / n + z^2 / (4 * n^2))) / (1 + z^2 / n)
          hi <- (p + z^2 / (2 * n) + z * sqrt(p * (1 - p) / n + z^2 / (4 * n^2))) / (1 + z^2 / n)
        }
        out[[length(out) + 1]] <- stat_row("prop", v, cc, dom, p, s, df, level, deff(m), lo, hi)
      }
    }
    for (pr in req$ratio) {
      r <- svyratio(as.formula(paste0("~`", pr[[1]], "`")), as.formula(paste0("~`", pr[[2]], "`")),
                    sub, na.rm = narm, deff = !inherits(design, "svyrep.design"))
      dd <- if (inherits(design, "svyrep.design")) NA else attr(r, "deff")
      out[[length(out) + 1]] <- stat_row("ratio", paste0(pr[[1]], "/", pr[[2]]), NULL, dom,
                                         coef(r), SE(r), df, level, dd)
    }
    if (!is.null(req$quantile)) for (v in names(req$quantile)) {
      probs <- unlist(req$quantile[[v]])
      q <- svyquantile(as.formula(paste0("~`", v, "`")), sub, probs, ci = TRUE, na.rm = narm,
                       alpha = 1 - level, df = df)[[1]]
      for (i in seq_along(probs))
        out[[length(out) + 1]] <- stat_row("quantile", v, probs[i], dom, q[i, 1], q[i, 4], df, level,
                                           NA, q[i, 2], q[i, 3])
    }
    if (isTRUE(req$count)) {
      m <- svytotal(~one, sub)
      out[[length(out) + 1]] <- stat_row("count", "", NULL, dom, coef(m), SE(m), df, level, NA)
    }
  }
  out
}

add_case <- function(name, design_spec, design, req, opts = list()) {
  old <- options(opts)
  on.exit(options(old))
  df <- degf(design)
  rows <- estimate_rows(design, req, df)
  cases[[length(cases) + 1]] <<- list(name = name, design = design_spec, request = req,
                                      options = opts, df = df, expected = rows)
}

lin <- function(data, ...) c(list(kind = "linearization", data = data), list(...))

# --- the api designs -----------------------------------------------------------------------------
full_req <- list(mean = c("api00", "meals"), total = "enroll", prop = "awards",
                 ratio = list(c("api.stu", "enroll")), quantile = list(api00 = c(0.25, 0.5, 0.75)))
dsrs <- svydesign(id = ~1, fpc = ~fpc, data = apisrs)
add_case("srs_fpc_weights_from_fpc", lin("apisrs", fpc = "fpc"), dsrs, full_req)
dsrs2 <- svydesign(id = ~1, weights = ~pw, data = apisrs)
add_case("srs_no_fpc", lin("apisrs", weights = "pw"), dsrs2, c(full_req, list(by = "stype")))
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
add_case("strat_fpc", lin("apistrat", strata = "stype", weights = "pw", fpc = "fpc"), dstrat,
         c(full_req, list(count = TRUE)))
add_case("strat_fpc_by_stype", lin("apistrat", strata = "stype", weights = "pw", fpc = "fpc"), dstrat,
         c(full_req, list(by = "stype")))
add_case("strat_fpc_by_two", lin("apistrat", strata = "stype", weights = "pw", fpc = "fpc"), dstrat,
         list(mean = "api00", total = "enroll", prop = "awards", by = c("sch.wide", "yr.rnd"),
              quantile = list(api00 = c(0.5))))
dstrat_nf <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
add_case("strat_no_fpc", lin("apistrat", strata = "stype", weights = "pw"), dstrat_nf,
         c(full_req, list(by = "awards", level = 0.9)))
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
add_case("clus1_fpc", lin("apiclus1", ids = "dnum", weights = "pw", fpc = "fpc"), dclus1,
         c(full_req, list(count = TRUE)))
add_case("clus1_fpc_by_stype", lin("apiclus1", ids = "dnum", weights = "pw", fpc = "fpc"), dclus1,
         c(full_req, list(by = "stype")))
add_case("clus1_probs", lin("apiclus1", ids = "dnum", probs = "p"),
         svydesign(id = ~dnum, probs = ~p, data = transform(apiclus1, p = 1 / pw)),
         list(mean = "api00", total = "enroll"))
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
add_case("clus2_multistage",
         lin("apiclus2", ids = c("dnum", "snum"), fpc = c("fpc1", "fpc2"), variance = "multistage"),
         dclus2, c(full_req, list(by = "stype", na = "drop")), list(survey.ultimate.cluster = FALSE))
add_case("clus2_ultimate", lin("apiclus2", ids = c("dnum", "snum"), fpc = c("fpc1", "fpc2")),
         dclus2, c(full_req, list(by = "stype", na = "drop")), list(survey.ultimate.cluster = TRUE))
dclus2w <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
add_case("clus2_no_fpc", lin("apiclus2", ids = c("dnum", "snum"), weights = "pw"), dclus2w,
         list(mean = "api00", total = "enroll", by = "stype", na = "drop"))

# missing values: na.rm = TRUE is survmig's na = "drop"
add_case("clus1_na_drop", lin("apiclus1", ids = "dnum", weights = "pw", fpc = "fpc"), dclus1,
         list(mean = c("acs.k3", "avg.ed"), total = "avg.ed", ratio = list(c("avg.ed", "enroll")),
              quantile = list(avg.ed = c(0.5)), by = "sch.wide", na = "drop"))

# --- confidence intervals for proportions --------------------------------------------------------
for (ci in c("logit", "beta", "wilson")) {
  add_case(paste0("ci_", ci, "_clus1"), lin("apiclus1", ids = "dnum", weights = "pw", fpc = "fpc"),
           dclus1, list(prop = c("yes", "awards"), ci = ci))
  add_case(paste0("ci_", ci, "_strat_by"), lin("apistrat", strata = "stype", weights = "pw", fpc = "fpc"),
           dstrat, list(prop = "yes", ci = ci, by = "stype", level = 0.9))
}

# --- singleton strata ----------------------------------------------------------------------------
dlone <- svydesign(id = ~1, strata = ~dnum, weights = ~pw, data = apiclus1)
for (rule in c("remove", "certainty", "adjust", "average")) {
  add_case(paste0("lonely_", rule), lin("apiclus1", strata = "dnum", weights = "pw", lonely_psu = rule),
           dlone, list(mean = "api00", total = "enroll", by = "stype"), list(survey.lonely.psu = rule))
  add_case(paste0("lonely_domain_", rule),
           lin("apiclus1", strata = "dnum", weights = "pw", lonely_psu = rule, lonely_psu_domain = TRUE),
           dlone, list(mean = "api00", total = "enroll", by = "stype"),
           list(survey.lonely.psu = rule, survey.adjust.domain.lonely = TRUE))
}

# --- the migration survey -------------------------------------------------------------------------
dmig <- svydesign(id = ~ea + hh, strata = ~stratum, fpc = ~N_ea + M_hh, nest = TRUE, data = mig)
mig_spec <- lin("mig", ids = c("ea", "hh"), strata = "stratum", fpc = c("N_ea", "M_hh"), nest = TRUE)
mig_req <- list(mean = c("migrant", "amount"), total = "amount", prop = c("sex", "agegroup"),
                ratio = list(c("amount", "hhsize")), quantile = list(amount = c(0.5, 0.9)),
                na = "drop", count = TRUE)
add_case("mig_ultimate", mig_spec, dmig, c(mig_req, list(by = "region")), list(survey.ultimate.cluster = TRUE))
add_case("mig_ultimate_two_by", mig_spec, dmig, list(mean = "migrant", total = "migrant", prop = "agegroup",
         by = c("region", "sex")), list(survey.ultimate.cluster = TRUE))
add_case("mig_multistage", c(mig_spec, list(variance = "multistage")), dmig, c(mig_req, list(by = "urban")))
dmig_w <- svydesign(id = ~ea + hh, strata = ~stratum, weights = ~w, nest = TRUE, data = mig)
add_case("mig_weights_only", lin("mig", ids = c("ea", "hh"), strata = "stratum", weights = "w", nest = TRUE),
         dmig_w, list(mean = "migrant", prop = "sex", by = "region", ci = "logit"))
dmig_lone <- svydesign(id = ~ea, strata = ~stratum2, weights = ~w, nest = TRUE, data = mig)
for (rule in c("remove", "adjust", "average")) {
  add_case(paste0("mig_lonely_", rule),
           lin("mig", ids = "ea", strata = "stratum2", weights = "w", nest = TRUE, lonely_psu = rule),
           dmig_lone, list(mean = "migrant", total = "amount", na = "drop", by = "region"),
           list(survey.lonely.psu = rule))
}

# --- replicate designs ----------------------------------------------------------------------------
rep_case <- function(name, data_name, rdesign, req, extra = list(), opts = list()) {
  W <- weights(rdesign, "analysis")
  spec <- c(list(kind = "replicate", data = data_name, repweights = unname(as.list(as.data.frame(W))),
                 type = if (rdesign$type == "subbootstrap") "bootstrap" else rdesign$type, scale = rdesign$scale, rscales = rdesign$rscales,
                 mse = isTRUE(rdesign$mse), weights = unname(weights(rdesign, "sampling"))), extra)
  if (!is.null(rdesign$rho)) spec$rho <- rdesign$rho
  add_case(name, spec, rdesign, req, opts)
}
rreq <- list(mean = "api00", total = "enroll", prop = "awards", ratio = list(c("api.stu", "enroll")),
             quantile = list(api00 = c(0.5)))
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
rep_case("rep_jk1_clus1", "apiclus1", rclus1, c(rreq, list(by = "stype")))
add_case("to_replicate_jk1", list(kind = "to_replicate", base = lin("apiclus1", ids = "dnum", weights = "pw", fpc = "fpc"),
                                  type = "JK1"), rclus1, c(rreq, list(by = "stype")))
rstrat <- as.svrepdesign(dstrat, type = "JKn")
rep_case("rep_jkn_strat", "apistrat", rstrat, c(rreq, list(by = "sch.wide")))
add_case("to_replicate_jkn", list(kind = "to_replicate", base = lin("apistrat", strata = "stype", weights = "pw", fpc = "fpc"),
                                  type = "JKn"), rstrat, c(rreq, list(by = "sch.wide")))
for (rule in c("remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = rule)
  rl <- as.svrepdesign(dlone, type = "JKn")
  options(survey.lonely.psu = "fail")
  add_case(paste0("to_replicate_jkn_lonely_", rule),
           list(kind = "to_replicate", base = lin("apiclus1", strata = "dnum", weights = "pw", lonely_psu = rule),
                type = "JKn"), rl, list(mean = "api00", total = "enroll"))
}
set.seed(1)
rboot <- as.svrepdesign(dclus1, type = "bootstrap", replicates = 60)
rep_case("rep_bootstrap_clus1", "apiclus1", rboot, c(rreq, list(by = "stype")))
set.seed(2)
rsub <- as.svrepdesign(dstrat, type = "subbootstrap", replicates = 80)
rep_case("rep_subbootstrap_strat", "apistrat", rsub, c(rreq, list(by = "stype")))
rsub_mse <- rsub; rsub_mse$mse <- TRUE
rep_case("rep_subbootstrap_mse", "apistrat", rsub_mse, rreq)
dpairs <- svydesign(id = ~ea, strata = ~stratum, weights = ~w, nest = TRUE, data = migpairs)
rbrr <- as.svrepdesign(dpairs, type = "BRR")
rep_case("rep_brr_mig", "migpairs", rbrr, list(mean = c("migrant", "amount"), total = "amount",
         prop = "sex", na = "drop", by = "region"))
add_case("to_replicate_brr_totals",
         list(kind = "to_replicate", base = lin("migpairs", ids = "ea", strata = "stratum", weights = "w", nest = TRUE),
              type = "BRR", compare = c("estimate", "se")), dpairs, list(total = c("migrant", "one"), by = "region"))
rfay <- as.svrepdesign(dpairs, type = "Fay", fay.rho = 0.3)
rep_case("rep_fay_mig", "migpairs", rfay, list(mean = "migrant", total = "amount", na = "drop", by = "urban"))
# supplied weights of other types: perturbed replicates with R's constants
set.seed(3)
R <- 40
pert <- matrix(runif(nrow(apistrat) * R, 0.5, 1.5), ncol = R) * apistrat$pw
rsd <- svrepdesign(data = apistrat, repweights = pert, weights = ~pw, type = "successive-difference")
rep_case("rep_sdr", "apistrat", rsd, c(rreq, list(by = "stype")))
roth <- svrepdesign(data = apistrat, repweights = pert, weights = ~pw, type = "other", scale = 0.37,
                    rscales = seq(0.5, 1.5, length.out = R))
rep_case("rep_other", "apistrat", roth, rreq)
rjkn_sup <- svrepdesign(data = apistrat, repweights = weights(rstrat, "analysis"), weights = ~pw,
                        type = "JKn", rscales = rstrat$rscales)
rep_case("rep_jkn_supplied", "apistrat", rjkn_sup, rreq)
rmig <- as.svrepdesign(svydesign(id = ~ea, strata = ~stratum, weights = ~w, nest = TRUE, data = mig), type = "JKn")
rep_case("rep_jkn_mig", "mig", rmig, list(mean = "migrant", prop = "agegroup", total = "amount",
         ratio = list(c("amount", "hhsize")), na = "drop", by = c("region", "sex")))

# --- calibrated designs (the records survmig's weighting stage builds) ---------------------------
cal_spec <- function(base, design) {
  recs <- list()
  for (ps in design$postStrata) {
    if (inherits(ps, "greg_calibration")) {
      recs[[length(recs) + 1]] <- list(type = "greg", qr = NULL)
    } else if (inherits(ps, "raking")) {
      recs[[length(recs) + 1]] <- list(type = "raking", margins = lapply(unclass(ps), function(m)
        list(groups = as.integer(m), weights = unname(attr(m, "weights")))))
    } else {
      recs[[length(recs) + 1]] <- list(type = "post", groups = as.integer(ps),
                                       weights = unname(attr(ps, "weights")),
                                       old_weights = unname(attr(ps, "oldweights")))
    }
  }
  list(kind = "calibrated", base = base, weights = unname(weights(design)), calibration = recs)
}
base1 <- lin("apiclus1", ids = "dnum", weights = "pw", fpc = "fpc")
ps <- postStratify(dclus1, ~stype, data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018)))
creq <- list(mean = c("api00", "meals"), total = "enroll", prop = "awards", ratio = list(c("api.stu", "enroll")),
             quantile = list(api00 = c(0.5)))
add_case("poststratified", cal_spec(base1, ps), ps, c(creq, list(by = "sch.wide")))
add_case("poststratified_overall", cal_spec(base1, ps), ps, creq)
rk <- rake(dclus1, list(~stype, ~sch.wide),
           list(data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018)),
                data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))))
add_case("raked", cal_spec(base1, rk), rk, c(creq, list(by = "stype")))
greg_spec <- function(base, before, after, formula) {
  sp <- cal_spec(base, after)
  mm <- model.matrix(formula, model.frame(formula, model.frame(before)))
  g <- after$postStrata[[length(after$postStrata)]]
  sp$calibration[[length(sp$calibration)]] <- list(type = "greg", model_matrix = unname(as.list(as.data.frame(mm))),
                                                   qr_weights = unname(sqrt(weights(before))), weights = unname(g$w))
  sp
}
pop <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
gr <- calibrate(dclus1, ~stype + api99, pop)
add_case("greg_linear", greg_spec(base1, dclus1, gr, ~stype + api99), gr, c(creq, list(by = "sch.wide")))
grk <- calibrate(dclus1, ~stype + api99, pop, calfun = "raking")
add_case("greg_raking_calfun", greg_spec(base1, dclus1, grk, ~stype + api99), grk, creq)
# post-stratification followed by a linear calibration: records applied in order
ps_gr <- calibrate(ps, ~api99, c(`(Intercept)` = 6194, api99 = 3914069))
add_case("poststratified_then_greg", greg_spec(base1, ps, ps_gr, ~api99), ps_gr, creq)
# a calibrated stratified two-stage migration survey
dmig_w1 <- svydesign(id = ~ea, strata = ~stratum, weights = ~w, nest = TRUE, data = mig)
mig_base <- lin("mig", ids = "ea", strata = "stratum", weights = "w", nest = TRUE)
tot <- svytotal(~interaction(region, sex), dmig_w1)
popm <- data.frame(region = rep(paste0("R", 1:4), 2), sex = rep(c("F", "M"), each = 4),
                   Freq = round(as.vector(coef(tot)) * c(1.05, 0.97, 1.1, 0.92, 1.02, 0.99, 0.95, 1.08)))
popm <- popm[order(popm$region, popm$sex), ]
migps <- postStratify(dmig_w1, ~region + sex, popm)
add_case("mig_poststratified", cal_spec(mig_base, migps), migps,
         list(mean = c("migrant", "amount"), total = "amount", na = "drop", by = "urban"))

json <- list(generator = paste("R", getRversion(), "survey", packageVersion("survey")),
             data = datasets, cases = cases)
write_json(json, file.path(out_dir, "estimation_fixtures.json"), digits = NA, auto_unbox = TRUE,
           null = "null", na = "null", dataframe = "columns")
cat("wrote", length(cases), "cases to", file.path(out_dir, "estimation_fixtures.json"), "\n")
