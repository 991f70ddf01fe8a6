# Reference values for totals of a factor with design effects (survey 4.1-1):
# svytotal(~factor, deff = TRUE) and svyby(~factor, ~by, svytotal, deff = TRUE). R's deff of a
# category total is the design variance over the SRS variance of the total of the category's 0/1
# indicator, N estimated: svyvar(x) * N^2 * (N - n) / (N * n) over the whole (domain) sample.
# Run from the repository root:  Rscript tests/reference/category_totals.R
# Writes tests/reference/category_totals.json (data: tests/reference/api/apiclus1.csv, apistrat.csv).
suppressMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "fail")
apiclus1 <- read.csv("tests/reference/api/apiclus1.csv")
apistrat <- read.csv("tests/reference/api/apistrat.csv")
apistrat$ell_na <- ifelse(apistrat$ell > 30, NA, apistrat$awards)  # missing values: na.rm = TRUE
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
one <- function(design, var, na = FALSE) {
  t <- svytotal(as.formula(paste0("~", var)), design, deff = TRUE, na.rm = na)
  list(names = names(coef(t)), estimate = unname(coef(t)), se = unname(SE(t)),
       deff = unname(deff(t)))
}
by <- function(design, var, by) {
  b <- svyby(as.formula(paste0("~", var)), as.formula(paste0("~", by)), design, svytotal,
             deff = TRUE)
  list(domains = as.character(b[[by]]),
       estimate = unname(matrix(coef(b), nrow = nrow(b))),
       se = unname(as.matrix(SE(b))),
       deff = unname(as.matrix(deff(b))))
}
out <- list(
  clus1_stype = c(list(design = "clus1", total = "stype"), one(dclus1, "stype")),
  strat_awards = c(list(design = "strat", total = "awards"), one(dstrat, "awards")),
  strat_na = c(list(design = "strat", total = "ell_na", na = TRUE), one(dstrat, "ell_na", TRUE)),
  clus1_awards_by_stype = c(list(design = "clus1", total = "awards", by = "stype"),
                            by(dclus1, "awards", "stype"))
)
write_json(list(survey = as.character(packageVersion("survey")), cases = out),
           "tests/reference/category_totals.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
