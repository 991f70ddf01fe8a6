# Reference values for domain covariances and comparisons (survey 4.1-1):
# svyby(..., covmat = TRUE) and svycontrast() differences and ratios, on linearization, calibrated
# and replicate designs of R's api data.
# Run from the repository root:  Rscript tests/reference/contrasts.R
# Writes tests/reference/contrasts.json (data: tests/reference/api/apiclus1.csv, apistrat.csv).
suppressMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "fail")
data(api)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
pop_lin <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = sum(apipop$api99))
dcal <- calibrate(dclus1, ~stype + api99, pop_lin)

contrast <- function(b, expr) {
  s <- svycontrast(b, expr)
  list(estimate = unname(coef(s)), se = unname(SE(s)))
}
case <- function(b, contrasts) {
  v <- vcov(b)
  list(names = names(coef(b)), estimate = unname(coef(b)), se = unname(SE(b)),
       vcov = unname(lapply(seq_len(nrow(v)), function(i) unname(v[i, ]))),
       contrasts = lapply(contrasts, function(e) contrast(b, e)))
}
calibrated_case <- function() {
  d <- update(dcal, yes = as.numeric(sch.wide == "Yes"), no = as.numeric(sch.wide == "No"))
  d <- update(d, y_yes = api00 * yes, y_no = api00 * no)
  r <- svyratio(~y_no + y_yes, ~no + yes, d, covmat = TRUE)
  keep <- c("y_no/no", "y_yes/yes")
  v <- vcov(r)[keep, keep]
  list(names = c("No", "Yes"), estimate = unname(coef(r)[keep]), se = unname(sqrt(diag(v))),
       vcov = unname(lapply(1:2, function(i) unname(v[i, ]))),
       contrasts = list(diff = contrast(r, quote(`y_yes/yes` - `y_no/no`)),
                        ratio = contrast(r, quote(`y_yes/yes` / `y_no/no`))))
}
cases <- list(
  strat_mean = c(list(design = "strat", by = "sch.wide", mean = "api00"),
                 case(svyby(~api00, ~sch.wide, dstrat, svymean, covmat = TRUE),
                      list(diff = quote(Yes - No), ratio = quote(Yes / No)))),
  clus1_means = c(list(design = "clus1", by = "stype", mean = c("api00", "enroll")),
                  case(svyby(~api00 + enroll, ~stype, dclus1, svymean, covmat = TRUE),
                       list(diff = quote(`H:api00` - `E:api00`), ratio = quote(`M:enroll` / `E:enroll`)))),
  clus1_prop = c(list(design = "clus1", by = "stype", prop = "awards"),
                 case(svyby(~awards, ~stype, dclus1, svymean, covmat = TRUE),
                      list(diff = quote(`H:awardsYes` - `E:awardsYes`)))),
  clus1_total = c(list(design = "clus1", by = "stype", total = "enroll"),
                  case(svyby(~enroll, ~stype, dclus1, svytotal, covmat = TRUE),
                       list(diff = quote(H - E), ratio = quote(H / E)))),
  clus1_ratio = c(list(design = "clus1", by = "stype", ratio = c("api.stu", "enroll")),
                  case(svyby(~api.stu, ~stype, dclus1, svyratio, denominator = ~enroll, covmat = TRUE),
                       list(diff = quote(H - E)))),
  # survey 4.1-1's svyby(covmat = TRUE) fails on calibrated designs: the same domain means as
  # svyratio(covmat = TRUE) of the domain totals (y * 1[domain] over 1[domain])
  calibrated_mean = c(list(design = "calibrated", by = "sch.wide", mean = "api00"),
                      calibrated_case()),
  jk1_mean = c(list(design = "jk1", by = "stype", mean = "api00"),
               case(svyby(~api00, ~stype, rclus1, svymean, covmat = TRUE),
                    list(diff = quote(H - E), ratio = quote(M / E))))
)
write_json(list(generated_by = "tests/reference/contrasts.R",
                survey_version = as.character(packageVersion("survey")),
                calibration = as.list(pop_lin), cases = cases),
           "tests/reference/contrasts.json", digits = NA, auto_unbox = TRUE)
cat("wrote", length(cases), "cases\n")
