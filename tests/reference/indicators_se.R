# Reference values for the indicator tests (tests/indicators/test_values.py): R survey 4.1.
#
# Usage: Rscript indicators_se.R SPEC.csv OUT.json
# SPEC.csv has one row per check: name, file (a CSV with stratum, psu, wt and the variable), var,
# stat (mean | total | dist | median). The variable is the indicator's per-row value computed in the
# test with plain pandas, NA outside the universe or when missing: the estimate is a domain estimate
# over the full design (subset() keeps the design, as survmig's na="drop").
suppressPackageStartupMessages({library(survey); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
spec <- read.csv(args[1], stringsAsFactors = FALSE)
out <- list()
for (i in seq_len(nrow(spec))) {
  s <- spec[i, ]
  d <- read.csv(s$file, stringsAsFactors = FALSE)
  d$v <- d[[s$var]]
  des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~wt, data = d)
  sub <- subset(des, !is.na(v))
  if (s$stat == "mean") {
    r <- svymean(~v, sub)
  } else if (s$stat == "total") {
    r <- svytotal(~v, sub)
  } else if (s$stat == "dist") {
    sub <- update(sub, v = factor(as.character(v)))
    r <- svymean(~v, sub)
  } else if (s$stat == "median") {
    q <- svyquantile(~v, sub, 0.5, ci = TRUE, df = degf(des))  # df of the whole design
    out[[s$name]] <- list(estimate = as.numeric(coef(q)), se = as.numeric(SE(q)))
    next
  }
  out[[s$name]] <- list(estimate = as.numeric(coef(r)), se = as.numeric(SE(r)), names = names(coef(r)))
}
writeLines(toJSON(out, digits = NA, auto_unbox = FALSE), args[2])
