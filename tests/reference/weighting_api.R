# Reference fixtures for survmig's weighting pipeline on R's `api` data (survey 4.1-1).
# Run from the repository root:  Rscript tests/reference/weighting_api.R
# Writes tests/reference/weighting_api.json (and tests/reference/api/apiclus1.csv if absent).
suppressMessages({library(survey); library(jsonlite)})
data(api)
out_dir <- "tests/reference"
if (!file.exists(file.path(out_dir, "api", "apiclus1.csv"))) {
  dir.create(file.path(out_dir, "api"), showWarnings = FALSE)
  write.csv(apiclus1, file.path(out_dir, "api", "apiclus1.csv"), row.names = FALSE)
}

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
set.seed(20240601)
rboot <- as.svrepdesign(dclus1, type = "bootstrap", replicates = 50)
rjk1 <- as.svrepdesign(dclus1, type = "JK1")

pop_stype <- c(E = 4421, H = 755, M = 1018)
pop_wide <- c(No = 1072, Yes = 5122)
pop_api99 <- sum(apipop$api99)
pop_lin <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = pop_api99)
ps_table <- data.frame(stype = c("E", "H", "M"), Freq = as.vector(pop_stype))
wide_table <- data.frame(sch.wide = c("No", "Yes"), Freq = as.vector(pop_wide))

est <- function(d) {
  m <- svymean(~api00, d); t <- svytotal(~enroll, d)
  list(mean_api00 = unname(coef(m)), se_mean_api00 = unname(SE(m)),
       total_enroll = unname(coef(t)), se_total_enroll = unname(SE(t)))
}
lin <- function(d) c(list(weights = unname(weights(d))), est(d))
# a bounded calibration may fail in some replicates (R stops): record the failure instead
safe <- function(f, expr) tryCatch(suppressWarnings(f(expr)), error = function(e) list(failed = conditionMessage(e)))
rep <- function(d) c(list(weights = unname(d$pweights),
                          repweights = unname(as.matrix(weights(d, "analysis")))), est(d))

cases <- list()
for (kind in c("linearization", "bootstrap", "jk1")) {
  d <- switch(kind, linearization = dclus1, bootstrap = rboot, jk1 = rjk1)
  f <- if (kind == "linearization") lin else rep
  res <- list(base = f(d))
  res$poststratify <- f(postStratify(d, ~stype, ps_table))
  res$rake_default <- f(rake(d, list(~stype, ~sch.wide), list(ps_table, wide_table)))
  res$rake_tight <- f(rake(d, list(~stype, ~sch.wide), list(ps_table, wide_table),
                           control = list(maxit = 100, epsilon = 1e-10)))
  res$calibrate_linear <- f(calibrate(d, ~stype + api99, pop_lin))
  res$calibrate_raking <- f(calibrate(d, ~stype + api99, pop_lin, calfun = "raking"))
  res$calibrate_logit <- safe(f, calibrate(d, ~stype + api99, pop_lin, calfun = "logit", bounds = c(0.5, 2)))
  res$calibrate_linear_bounded <- safe(f, calibrate(d, ~stype + api99, pop_lin, calfun = "linear",
                                              bounds = c(0.5, 2)))
  # categorical margins only, raking distance: same fixed point as rake()
  res$calibrate_raking_margins <- f(calibrate(d, list(~stype, ~sch.wide), list(ps_table, wide_table),
                                              calfun = "raking"))
  if (kind == "linearization") {
    raked <- calibrate(d, ~stype + api99, pop_lin, calfun = "raking")
    w <- weights(raked)
    res$trim_equal <- f(trimWeights(raked, upper = 1.1 * median(w), lower = 0.9 * median(w)))
    res$trim_strict <- f(trimWeights(raked, upper = 1.1 * median(w), lower = 0.9 * median(w),
                                     strict = TRUE))
    res$trim_bounds <- c(lower = 0.9 * median(w), upper = 1.1 * median(w))
    res$rake_default_sweeps <- NA
  } else {
    res$scale <- d$scale; res$rscales <- unname(d$rscales); res$type <- d$type; res$mse <- d$mse
  }
  cases[[kind]] <- res
}

fixture <- list(
  generated_by = "tests/reference/weighting_api.R",
  r_version = R.version.string, survey_version = as.character(packageVersion("survey")),
  data = "tests/reference/api/apiclus1.csv",
  design = "svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)",
  controls = list(stype = as.list(pop_stype), sch.wide = as.list(pop_wide), api99 = pop_api99,
                  intercept = 6194),
  cases = cases
)
write_json(fixture, file.path(out_dir, "weighting_api.json"), digits = NA, auto_unbox = TRUE,
           pretty = FALSE)
cat("wrote", file.path(out_dir, "weighting_api.json"), "\n")
