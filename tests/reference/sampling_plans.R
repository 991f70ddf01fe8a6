# Reference values for tests/sampling/test_plans.py: PracTools (Valliant, Dever & Kreuter) and R
# `sampling` (Tillé & Matei) on the packages' own documented examples and on a small frame.
#
# Usage: PRACTOOLS_R=/path/to/PracTools/R Rscript sampling_plans.R OUT_DIR
# PRACTOOLS_R is the R/ folder of the PracTools source (CRAN package PracTools, R files only: it is
# not in Debian); `sampling` comes from Debian's r-cran-sampling. Writes OUT_DIR/sampling_plans.json
# and OUT_DIR/sampling_frame.csv (the frame the variance-components case reads).
suppressPackageStartupMessages({library(sampling); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
out_dir <- args[1]
for (f in c("clusOpt2", "clusOpt3", "BW2stagePPS", "BW2stageSRS", "dub", "nDomain", "nWilson",
            "nLogOdds", "nProp2sam", "nDep2sam", "CompMOS"))
  source(file.path(Sys.getenv("PRACTOOLS_R"), paste0(f, ".R")))
plain <- function(x) lapply(unclass(x), function(v) if (is.numeric(v)) as.numeric(v) else v)
out <- list()

# clusOpt2 / clusOpt3: the help pages' examples (unrounded values are recomputed from the inputs)
out$clusOpt2_budget <- plain(clusOpt2(C1 = 750, C2 = 100, delta = 0.05, unit.rv = 1, k = 1,
                                      tot.cost = 100000, cal.sw = 1))
out$clusOpt2_cv <- plain(clusOpt2(C1 = 750, C2 = 100, delta = 0.01, unit.rv = 1, k = 1, CV0 = 0.05,
                                  cal.sw = 2))
out$clusOpt3_budget <- plain(clusOpt3(unit.cost = c(500, 100, 120), delta1 = 0.01, delta2 = 0.10,
                                      unit.rv = 1, k1 = 1, k2 = 1, tot.cost = 100000, cal.sw = 1))
out$clusOpt3_cv <- plain(clusOpt3(unit.cost = c(500, 100, 120), delta1 = 0.01, delta2 = 0.10,
                                  unit.rv = 1, k1 = 1, k2 = 1, CV0 = 0.01, cal.sw = 2))

# variance components on a clustered 0/1 migrant indicator: 60 EAs of 5-40 households
set.seed(20261202)
n_psu <- 60
sizes <- sample(5:40, n_psu, replace = TRUE)
prev <- rbeta(n_psu, 0.6, 6)
frame <- data.frame(ea = rep(seq_len(n_psu), sizes), mos = rep(sizes, sizes))
frame$migrant <- rbinom(nrow(frame), 1, rep(prev, sizes))
frame$remit <- round(frame$migrant * rgamma(nrow(frame), 2, 0.01) + rgamma(nrow(frame), 5, 0.05), 2)
write.csv(frame, file.path(out_dir, "sampling_frame.csv"), row.names = FALSE)
pp <- as.numeric(table(frame$ea)) / nrow(frame)
out$BW2stagePPS <- as.list(BW2stagePPS(frame$remit, pp = pp, psuID = frame$ea))
out$BW2stageSRS <- as.list(BW2stageSRS(frame$remit, psuID = frame$ea))

# dub: its help page
Ph <- c(0.02, 0.12, 0.37, 0.54)
out$dub <- plain(dub(10, 50, 20000, Nh = rep(0.25, 4), Sh = sqrt(Ph * (1 - Ph)), Yh.bar = Ph))
# (in that example stratum 4's phase-2 size exceeds its phase-1 size: dub does not cap the rate)
out$dub_nocap <- plain(dub(10, 100, 20000, Nh = rep(0.25, 4), Sh = sqrt(Ph * (1 - Ph)), Yh.bar = Ph))

# sample sizes
out$nDomain_total <- nDomain(CV0d = 0.05, N = Inf, CVpopd = 1, Pd = 0.5, est.type = "total")
out$nDomain_mean <- nDomain(CV0d = 0.05, N = Inf, CVpopd = 1, Pd = 0.5, est.type = "mean")
out$nDomain_total_N <- nDomain(CV0d = 0.1, N = 5000, CVpopd = 0.5, Pd = 0.06, est.type = "total")
out$nWilson_abs <- nWilson(moe.sw = 1, pU = 0.04, e = 0.01)
out$nWilson_rel <- nWilson(moe.sw = 2, pU = 0.04, e = 0.25)
out$nLogOdds_abs <- nLogOdds(moe.sw = 1, e = 0.05, alpha = 0.05, pU = 0.2, N = Inf)
out$nLogOdds_rel <- nLogOdds(moe.sw = 2, e = 0.05, alpha = 0.05, pU = 0.2, N = Inf)
out$nLogOdds_N <- nLogOdds(moe.sw = 1, e = 0.01, alpha = 0.05, pU = 0.03, N = 20000)
out$nProp2sam_indep <- plain(nProp2sam(px = 0.5, py = 0.55, pxy = 0.45, g = 0, r = 1, alt = "two.sided"))
out$nProp2sam_panel <- plain(nProp2sam(px = 0.5, py = 0.55, pxy = 0.45, g = 0.5, r = 1, alt = "one.sided"))
out$nDep2sam <- plain(nDep2sam(S2x = 200, S2y = 200, g = 0.75, r = 1, rho = 0.9, alt = "one.sided",
                               del = 5, sig.level = 0.05, pow = 0.80))

# CompMOS: its help page
dsn <- data.frame(psuID = 1:10, D1 = c(50, 50, 50, 50, 50, 70, 50, 50, 50, 50),
                  D2 = c(50, 30, 90, 40, 25, 40, 80, 65, 30, 50))
cm <- suppressWarnings(CompMOS(dsn = dsn, psuID = dsn$psuID, n.PSU = 4, domain = c("D1", "D2"),
                               domain.req.n = c(130, 50), exp.domain.rr = c(1, 0.8)))
out$CompMOS <- list(mos = cm$CompMOS.psuID$CompMOS, prob = cm$CompMOS.psuID$probi,
                    rate_D1 = cm$CompMOS.psuID$D1.samp.frac, rate_D2 = cm$CompMOS.psuID$D2.samp.frac)

# joint inclusion probabilities (R sampling)
pik_a <- inclusionprobabilities(c(12, 30, 45, 7, 22, 60, 15, 9, 33, 18), 4)
pik_b <- c(0.2, 0.7, 0.8, 0.5, 0.4, 0.4)  # ties and no certainty unit
pik_c <- inclusionprobabilities(c(5, 200, 8, 30, 12, 40, 3, 25), 3)  # one certainty unit
for (nm in c("a", "b", "c")) {
  pik <- get(paste0("pik_", nm))
  out[[paste0("pik_", nm)]] <- pik
  out[[paste0("sys_", nm)]] <- unname(split(UPsystematicpi2(pik), seq_along(pik)))
  out[[paste0("cps_", nm)]] <- unname(split(UPmaxentropypi2(pik), seq_along(pik)))
}
out$versions <- list(sampling = as.character(packageVersion("sampling")), R = R.version.string)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(out_dir, "sampling_plans.json"))
