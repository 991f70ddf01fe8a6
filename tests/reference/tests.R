# Reference values for design-based tests (survey 4.1-1): svychisq() Rao-Scott first-order
# ("Chisq") and second-order ("F") adjustments, and svyttest() (two-group and one-sample), on
# linearization and replicate designs of R's api data.
# Run from the repository root:  Rscript tests/reference/tests.R
# Writes tests/reference/tests.json (data: tests/reference/api/apiclus1.csv, apistrat.csv).
suppressMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "fail")
data(api)
designs <- list(
  clus1 = svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1),
  strat = svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
)
designs$jk1 <- as.svrepdesign(designs$clus1, type = "JK1")
chisq <- function(x) list(statistic = unname(x$statistic), df = unname(x$parameter),
                          p = unname(x$p.value))
ttest <- function(x) list(statistic = unname(x$statistic), df = unname(x$parameter),
                          p = unname(x$p.value), estimate = unname(x$estimate),
                          ci = unname(as.vector(x$conf.int)))
cases <- list()
for (dn in names(designs)) {
  d <- designs[[dn]]
  cases[[dn]] <- list(
    chisq_F = chisq(svychisq(~sch.wide + stype, d, statistic = "F")),
    chisq_Chisq = chisq(svychisq(~sch.wide + stype, d, statistic = "Chisq")),
    chisq_awards_F = chisq(svychisq(~awards + yr.rnd, d, statistic = "F")),
    ttest = ttest(svyttest(api00 ~ sch.wide, d)),
    ttest_one = ttest(svyttest(api00 ~ 0, d))
  )
}
write_json(list(generated_by = "tests/reference/tests.R",
                survey_version = as.character(packageVersion("survey")), cases = cases),
           "tests/reference/tests.json", digits = NA, auto_unbox = TRUE)
cat("wrote", length(cases), "designs\n")
