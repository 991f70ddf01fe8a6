# Reference values for calibrated designs estimated through the command line (survey 4.1-1):
# `survmig weight` writes OUT.design.yaml, `survmig estimate --design OUT.design.yaml` must give
# R's calibrate()/rake()/postStratify() + svymean/svytotal/svyby SEs (linearization with the
# calibration residuals).
# Run from the repository root:  Rscript tests/reference/calibrated_design.R
# Writes tests/reference/calibrated_design.json and tests/reference/api/apistrat.csv.
suppressMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "fail")
data(api)
out_dir <- "tests/reference"
write.csv(apistrat, file.path(out_dir, "api", "apistrat.csv"), row.names = FALSE)

pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop_wide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
pop_lin <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = sum(apipop$api99))

designs <- list(
  clus1 = svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1),
  strat = svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
)
calibrations <- list(
  poststratify = function(d) postStratify(d, ~sch.wide, pop_wide),
  rake = function(d) rake(d, list(~stype, ~sch.wide), list(pop_stype, pop_wide),
                          control = list(maxit = 100, epsilon = 1e-10)),
  linear = function(d) calibrate(d, ~stype + api99, pop_lin),
  raking = function(d) calibrate(d, ~stype + api99, pop_lin, calfun = "raking"),
  logit = function(d) calibrate(d, ~stype + api99, pop_lin, calfun = "logit", bounds = c(0.7, 1.7))
)
row <- function(est) list(estimate = unname(coef(est)), se = unname(SE(est)))
cases <- list()
for (dn in names(designs)) for (cn in names(calibrations)) {
  d <- tryCatch(calibrations[[cn]](designs[[dn]]), error = function(e) NULL)
  if (is.null(d)) next
  by <- svyby(~api00, ~sch.wide, d, svymean)
  cases[[paste(dn, cn, sep = "_")]] <- list(
    design = dn, calibration = cn, weights = unname(weights(d)),
    mean_api00 = row(svymean(~api00, d)),
    total_enroll = row(svytotal(~enroll, d)),
    prop_awards = row(svymean(~awards, d)),
    mean_api00_by_sch.wide = list(sch.wide = as.character(by$sch.wide),
                                  estimate = unname(coef(by)), se = unname(SE(by)))
  )
}
write_json(list(generated_by = "tests/reference/calibrated_design.R",
                survey_version = as.character(packageVersion("survey")),
                controls = list(stype = setNames(as.list(pop_stype$Freq), pop_stype$stype),
                                sch.wide = setNames(as.list(pop_wide$Freq), pop_wide$sch.wide),
                                api99 = sum(apipop$api99)),
                cases = cases),
           file.path(out_dir, "calibrated_design.json"), digits = NA, auto_unbox = TRUE)
cat("wrote", length(cases), "cases\n")
