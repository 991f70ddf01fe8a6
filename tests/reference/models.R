# Reference values for design-based GLMs (survey 4.1-1): svyglm() coefficients, SEs, t, p,
# confint() and regTermTest() Wald tests, for gaussian, quasibinomial/binomial and poisson
# families on linearization (stratified, clustered, two-stage, calibrated) and replicate (JK1, JKn)
# designs of R's api data.
# Run from the repository root:  Rscript tests/reference/models.R
# Writes tests/reference/models.json (data: tests/reference/api/apiclus1.csv, apistrat.csv,
# apiclus2.csv). glm.control(epsilon = 1e-15), refitted from the solution (see below). The two-stage
# design uses R's default full multistage variance (fpc at both stages).
suppressMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "fail")
data(api)
write.csv(apiclus2, "tests/reference/api/apiclus2.csv", row.names = FALSE)
prep <- function(d) update(d, yes = as.numeric(sch.wide == "Yes"))
dclus1 <- prep(svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1))
dstrat <- prep(svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat))
dclus2 <- prep(svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2))
pop_lin <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = sum(apipop$api99))
designs <- list(
  strat = dstrat, clus1 = dclus1, clus2 = dclus2,
  calibrated = calibrate(dclus1, ~stype + api99, pop_lin),
  jk1 = as.svrepdesign(dclus1, type = "JK1"),
  jkn = as.svrepdesign(dstrat, type = "JKn")
)
models <- list(
  gaussian = list(formula = api00 ~ ell + meals + stype, family = gaussian()),
  quasibinomial = list(formula = yes ~ ell + meals + stype, family = quasibinomial()),
  poisson = list(formula = enroll ~ meals + stype, family = quasipoisson())
)
ctl <- glm.control(epsilon = 1e-15, maxit = 200)
cases <- list()
for (dn in names(designs)) for (mn in names(models)) {
  m <- models[[mn]]
  fit0 <- svyglm(m$formula, designs[[dn]], family = m$family, control = ctl)
  # one more IRLS pass from the solution: R's SEs use the working weights of the last-but-one
  # iterate, which otherwise differ from the solution's by ~1e-8
  fit <- svyglm(m$formula, designs[[dn]], family = m$family, control = ctl, start = coef(fit0))
  s <- summary(fit)$coefficients
  ci <- confint(fit)
  tt <- regTermTest(fit, ~stype)
  v <- vcov(fit)
  cases[[paste(dn, mn, sep = "_")]] <- list(
    design = dn, family = mn, terms = rownames(s),
    estimate = unname(s[, 1]), se = unname(s[, 2]), t = unname(s[, 3]), p = unname(s[, 4]),
    ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]), df_residual = fit$df.residual,
    vcov = unname(lapply(seq_len(nrow(v)), function(i) unname(v[i, ]))),
    test_stype = list(F = unname(tt$Ftest[1]), df = tt$df, ddf = tt$ddf, p = unname(tt$p[1]))
  )
}
write_json(list(generated_by = "tests/reference/models.R",
                survey_version = as.character(packageVersion("survey")),
                calibration = as.list(pop_lin), cases = cases),
           "tests/reference/models.json", digits = NA, auto_unbox = TRUE)
cat("wrote", length(cases), "cases\n")
