# Reference values for indicators compared by migratory status (R survey 4.1): each group's
# estimate and the difference and ratio foreign-born (born = 0) vs native-born (born = 1), with
# SEs from the joint covariance: svyby(covmat = TRUE) + svycontrast() on the members' design, and
# svyratio/svytotal(covmat) + svycontrast() of household totals on the calibrated household
# design (the GREG calibration of indicators_calibrated.R).
# Test: tests/indicators/test_compare.py.
# Run from the repository root:  Rscript tests/reference/indicators_compare.R
# Reads tests/reference/indicators_compare.csv (one row per member of the test survey in
# tests/indicators/survey.py: household key, stratum, psu, wt, born and the per-member values of
# foreign_citizens_share (fc), intention_to_migrate_share (intent) and forced_migrants_count
# (forced), NA outside the universe or when missing) and indicators_calibrated.csv (households);
# writes tests/reference/indicators_compare.json.
suppressPackageStartupMessages({library(survey); library(jsonlite)})
m <- read.csv("tests/reference/indicators_compare.csv", stringsAsFactors = FALSE)
hh <- read.csv("tests/reference/indicators_calibrated.csv", stringsAsFactors = FALSE)
contrasts <- function(obj, a, b) {
  d <- svycontrast(obj, substitute(x - y, list(x = as.name(a), y = as.name(b))))
  r <- svycontrast(obj, substitute(x / y, list(x = as.name(a), y = as.name(b))))
  list(estimate = unname(coef(obj)[c(a, b)]), se = unname(sqrt(diag(vcov(obj))[c(a, b)])),
       difference = list(estimate = unname(coef(d)), se = unname(SE(d))),
       ratio = list(estimate = unname(coef(r)), se = unname(SE(r))))
}
out <- list()
# the members' design (strata, PSUs and weights of the households), domains of born (an unknown
# place of birth is a third domain, not compared); a missing value is outside its domain: the
# value's 0/1 "known" indicator makes the domain mean a ratio, svyby(svyratio, covmat = TRUE)
m$group <- ifelse(is.na(m$born), "unknown", as.character(m$born))
m$known_fc <- as.numeric(!is.na(m$fc))
m$known_intent <- as.numeric(!is.na(m$intent))
for (v in c("fc", "intent", "forced")) m[[paste0(v, "0")]] <- ifelse(is.na(m[[v]]), 0, m[[v]])
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, data = m)
for (v in c("fc", "intent", "forced")) {
  y <- as.formula(paste0("~", v, "0"))
  b <- if (v == "forced") {
    svyby(y, ~group, des, svytotal, covmat = TRUE)
  } else {
    svyby(y, ~group, des, svyratio, denominator = as.formula(paste0("~known_", v)),
          covmat = TRUE)
  }
  out$members[[v]] <- contrasts(b, "0", "1")
}
# the calibrated household design: member indicators as ratios (totals) of household sums
des_hh <- svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, data = hh)
st <- tapply(hh$wt, hh$stratum, sum) * 1.1
pop <- c(`(Intercept)` = sum(st), setNames(st[-1], paste0("factor(stratum)", names(st)[-1])),
         size = 1.02 * sum(hh$wt * hh$size))
for (v in c("fc", "intent", "forced")) {
  known <- !is.na(m[[v]]) & !is.na(m$born)
  for (g in 0:1) {
    inside <- known & m$born == g
    num <- tapply(ifelse(inside, m[[v]], 0), m$hh, sum)
    den <- tapply(as.numeric(inside), m$hh, sum)
    hh[[paste0("n", g)]] <- as.numeric(num[hh$KEY])
    hh[[paste0("d", g)]] <- as.numeric(den[hh$KEY])
  }
  cal <- calibrate(update(des_hh, n0 = hh$n0, n1 = hh$n1, d0 = hh$d0, d1 = hh$d1),
                   ~factor(stratum) + size, population = pop, calfun = "linear")
  if (v == "forced") {
    obj <- svytotal(~n0 + n1, cal)
    out$calibrated[[v]] <- contrasts(obj, "n0", "n1")
  } else {
    obj <- svyratio(~n0 + n1, ~d0 + d1, cal, covmat = TRUE)
    out$calibrated[[v]] <- contrasts(obj, "n0/d0", "n1/d1")
  }
}
write_json(out, "tests/reference/indicators_compare.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
cat("wrote tests/reference/indicators_compare.json\n")
