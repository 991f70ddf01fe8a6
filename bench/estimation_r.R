# R survey side of bench/estimation_bench.py: svydesign + svymean + svyby on the synthetic survey.
# Usage: Rscript bench/estimation_r.R survey.csv result.json
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
vars <- ~migrant + remit + amount + age
t0 <- proc.time()[["elapsed"]]
des <- svydesign(id = ~psu, strata = ~stratum, weights = ~weight, data = d)
t1 <- proc.time()[["elapsed"]]
overall <- svymean(vars, des)
t2 <- proc.time()[["elapsed"]]
by <- svyby(vars, ~province, des, svymean)
t3 <- proc.time()[["elapsed"]]
write_json(list(
  design = t1 - t0, overall = t2 - t1, by = t3 - t2, total = t3 - t0,
  overall_se = unname(SE(overall)), by_se = unname(as.vector(as.matrix(SE(by)))),
  by_domains = as.character(by$province)
), args[2], digits = NA, auto_unbox = TRUE)
