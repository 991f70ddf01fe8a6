# Reference values for indicators computed with a calibrated household design (R survey 4.1).
# Test: tests/indicators/test_calibrated.py.
# Run from the repository root:  Rscript tests/reference/indicators_calibrated.R
# Reads tests/reference/indicators_calibrated.csv (one row per household of the test survey in
# tests/indicators/survey.py: stratum, psu, wt, size = members, and the per-household indicator
# values, NA outside the universe or when missing) and writes indicators_calibrated.json.
# Calibration: households by stratum (1.1 x the weighted sample count) and persons (size, 1.02 x the
# weighted sample total); linear (GREG) and raking distances. Estimates are domain estimates over
# the calibrated design (na.rm = TRUE: the missing rows are kept with zero weight, as subset()).
# Person-level indicators are ratios of household totals (svyratio on the household design):
# members born abroad / members with a known place of birth (foreign-born share), and the same by
# sex (members of sex s born abroad / members of sex s with a known place of birth).
suppressPackageStartupMessages({library(survey); library(jsonlite)})
d <- read.csv("tests/reference/indicators_calibrated.csv", stringsAsFactors = FALSE)
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, data = d)
st <- tapply(d$wt, d$stratum, sum) * 1.1
pop <- c(`(Intercept)` = sum(st), setNames(st[-1], paste0("factor(stratum)", names(st)[-1])),
         size = 1.02 * sum(d$wt * d$size))
out <- list()
for (calfun in c("linear", "raking")) {
  cal <- calibrate(des, ~factor(stratum) + size, population = pop, calfun = calfun)
  res <- list(weights = as.numeric(weights(cal)))
  for (v in c("emig", "rem", "rem_total")) {
    f <- as.formula(paste0("~", v))
    r <- if (v == "rem_total") svytotal(f, cal, na.rm = TRUE) else svymean(f, cal, na.rm = TRUE)
    res[[v]] <- list(estimate = as.numeric(coef(r)), se = as.numeric(SE(r)))
  }
  for (pair in list(c("fb", "known"), c("fb_s1", "known_s1"), c("fb_s2", "known_s2"))) {
    r <- svyratio(as.formula(paste0("~", pair[1])), as.formula(paste0("~", pair[2])), cal)
    res[[pair[1]]] <- list(estimate = as.numeric(coef(r)), se = as.numeric(SE(r)))
  }
  out[[calfun]] <- res
}
write_json(out, "tests/reference/indicators_calibrated.json", digits = NA, auto_unbox = FALSE,
           pretty = TRUE)
cat("wrote tests/reference/indicators_calibrated.json\n")
