# Reference fixture: two-phase screening designs (survey's twophase(), method "full", the default).
# Run from the repository root:  Rscript tests/reference/twophase.R
# Writes tests/reference/twophase.json.
#
# Phase 1: EAs within 3 strata, either with PPS probabilities (probs, no fpc) or by stratified SRS
# (fpc = EAs in the stratum); every household of a selected EA is listed and screened (emigrant /
# return / none). Phase 2: a stratified SRS of the listed households, strata EA x screening class,
# all emigrant and return households and a quarter of the others; the respondents are the phase-2
# sample (nonresponse within EA x class). R's phase-1 data frame has every listed household: those
# not in phase 2 are placeholder rows (in2 = FALSE) that only count towards the phase-2 population
# sizes, as survmig's phase2 fpc column (households listed per EA x class) does.
# Person-level case: the respondents' persons, one row each, phase-2 unit the household.
# Calibrated case: the phase-2 weights calibrated (GREG, linear) to population totals; the calibration residuals
# (survey's own greg_calibration record) then enter both phases of twophase2var.
# Phase-1-totals case: calibrate(twophase, phase = 2) to the listing's totals (household size).
suppressMessages({library(survey); library(jsonlite)})
set.seed(1313)
ea <- data.frame(ea = 1:60, st = rep(c("a", "b", "c"), each = 20))
ea$M <- rpois(60, 25) + 8
ea$prev <- rbeta(60, 0.8, 6) * ifelse(ea$st == "c", 2.5, 1)
ea$region <- ifelse(ea$ea %% 3 == 0, "North", "South")
# phase 1: 5 EAs per stratum
sel <- unlist(lapply(split(ea, ea$st), function(d) sample(d$ea, 5, prob = d$M)))
ea$p1 <- 5 * ea$M / ave(ea$M, ea$st, FUN = sum)
ea$N1 <- 20
e1 <- ea[ea$ea %in% sel, ]
h <- e1[rep(seq_len(nrow(e1)), e1$M), ]
h$hh <- seq_len(nrow(h))
u <- runif(nrow(h))
h$class <- ifelse(u < h$prev, "emigrant", ifelse(u < h$prev + 0.06, "return", "none"))
h$s2 <- paste(h$ea, h$class)
h$listed <- ave(h$hh, h$s2, FUN = length)
rate <- c(emigrant = 1, `return` = 1, none = 0.25)
h$in2 <- FALSE
for (k in unique(h$s2)) {
  i <- which(h$s2 == k)
  m <- max(1, round(length(i) * rate[h$class[i[1]]]))
  h$in2[i[sample.int(length(i), m)]] <- TRUE
}
# nonresponse: the respondents are the phase-2 sample (kept: at least one per EA x class)
resp <- runif(nrow(h)) < 0.88
first <- !duplicated(h$s2[h$in2])
resp[which(h$in2)[first]] <- TRUE
h$in2 <- h$in2 & resp
h$hhsize <- 1 + rpois(nrow(h), 3)
h$emig <- as.integer(h$class == "emigrant")
h$remit <- ifelse(h$class == "emigrant", round(rlnorm(nrow(h), 6, 1)), 0) + rpois(nrow(h), 20)
h$y <- round(h$remit / 10 + rnorm(nrow(h), 0, 3), 2)
rownames(h) <- NULL

tp_probs <- twophase(id = list(~ea, ~hh), strata = list(~st, ~s2), probs = list(~p1, NULL),
                     subset = ~in2, data = h)
tp_fpc <- twophase(id = list(~ea, ~hh), strata = list(~st, ~s2), fpc = list(~N1, NULL),
                   subset = ~in2, data = h)

res <- function(s) list(estimate = unname(coef(s)), se = unname(SE(s)))
byres <- function(s) list(estimate = unname(coef(s)), se = unname(SE(s)))
stats <- function(d) {
  list(
    total = res(svytotal(~remit + emig + hhsize, d)),
    mean = res(svymean(~remit + hhsize, d)),
    class = res(svymean(~factor(class), d)),
    ratio = {r <- svyratio(~remit, ~hhsize, d); list(estimate = unname(coef(r)), se = unname(SE(r)))},
    by_region_mean = byres(svyby(~remit, ~region, d, svymean)),
    by_region_total = byres(svyby(~emig, ~region, d, svytotal)),
    phases_total = {v <- attr(vcov(svytotal(~remit, d)), "phases"); c(v$phase1, v$phase2)}
  )
}
s2 <- h[h$in2, ]
cases <- list(probs = stats(tp_probs), fpc = stats(tp_fpc))
# models and quantiles on the two-phase design
for (nm in c("probs", "fpc")) {
  d <- if (nm == "probs") tp_probs else tp_fpc
  g <- summary(svyglm(remit ~ region + hhsize, d))$coefficients
  cases[[nm]]$glm <- list(estimate = unname(g[, 1]), se = unname(g[, 2]))
  ctl <- glm.control(epsilon = 1e-15, maxit = 200)  # converged fully, as tests/reference/models.R
  lg0 <- svyglm(emig ~ region + hhsize, d, family = quasibinomial(), control = ctl)
  lg <- summary(svyglm(emig ~ region + hhsize, d, family = quasibinomial(), control = ctl,
                       start = coef(lg0)))$coefficients
  cases[[nm]]$logit <- list(estimate = unname(lg[, 1]), se = unname(lg[, 2]))
  # survmig's df for a two-phase design: phase-1 PSUs minus strata (R's degf counts phase 2)
  q <- svyquantile(~remit, d, c(0.5, 0.9), df = length(unique(s2$ea)) - 3)$remit
  cases[[nm]]$quantile <- list(estimate = unname(q[, 1]), se = unname(q[, 4]))
}

# persons: the phase-1 frame with one row per person of each responding household and one
# placeholder row per other listed household
s2 <- h[h$in2, ]
pers <- s2[rep(seq_len(nrow(s2)), s2$hhsize), ]
pers$age <- round(runif(nrow(pers), 0, 80))
pers$foreign <- as.integer(runif(nrow(pers)) < 0.1 + 0.3 * pers$emig)
pers$sex <- ifelse(runif(nrow(pers)) < 0.5, "female", "male")
rest <- h[!h$in2, ]
rest$age <- NA; rest$foreign <- NA; rest$sex <- NA
ph1 <- rbind(pers, rest)
rownames(ph1) <- NULL
tp_pers <- twophase(id = list(~ea, ~hh), strata = list(~st, ~s2), probs = list(~p1, NULL),
                    subset = ~in2, data = ph1)
cases$persons <- list(
  total = res(svytotal(~foreign, tp_pers)),
  mean = res(svymean(~age + foreign, tp_pers)),
  by_sex_total = byres(svyby(~foreign, ~sex, tp_pers, svytotal))
)

# calibrated: the phase-2 sample's weights raked to population totals (households by region,
# persons); the residuals of survey's own calibration record, then twophase2var
w0 <- 1 / tp_probs$prob
d0 <- svydesign(id = ~ea, strata = ~st, weights = ~w0, data = cbind(s2, w0 = w0))
pop <- c(`(Intercept)` = 1500, regionSouth = 1000, hhsize = 6000)
cal <- calibrate(d0, ~region + hhsize, pop)
wf <- weights(cal)
rec <- cal$postStrata[[1]]
resid <- function(x) qr.resid(rec$qr, x / rec$w) * rec$w
tot <- colSums(wf * cbind(remit = s2$remit, emig = s2$emig))
v_tot <- diag(survey:::twophase2var(resid(cbind(s2$remit, s2$emig) * wf), tp_probs))
mu <- sum(wf * s2$remit) / sum(wf)
v_mean <- survey:::twophase2var(resid((s2$remit - mu) * wf / sum(wf)), tp_probs)
# survmig calibrates the same way (its weights must agree)
cases$calibrated <- list(
  population = as.list(pop),
  weights = unname(wf),
  total = list(estimate = unname(tot), se = unname(sqrt(v_tot))),
  mean = list(estimate = mu, se = sqrt(as.numeric(v_mean)))
)

# phase 2 calibrated to phase-1 totals (R's calibrate(phase = 2), linear): household size is
# known for every listed household; the residuals enter the phase-2 term only
c2 <- calibrate(tp_probs, phase = 2, ~hhsize)
cases$phase1_totals <- list(
  population = list(households = nrow(h), hhsize = sum(h$hhsize)),
  weights = unname(1 / c2$prob),
  total = res(svytotal(~remit + emig, c2)),
  mean = res(svymean(~remit, c2)),
  by_region_mean = byres(svyby(~remit, ~region, c2, svymean))
)

write_json(list(
  generated_by = "tests/reference/twophase.R",
  survey_version = as.character(packageVersion("survey")),
  households = h[h$in2, c("ea", "st", "region", "p1", "N1", "hh", "class", "s2", "listed",
                          "hhsize", "emig", "remit")],
  persons = pers[, c("ea", "st", "p1", "hh", "s2", "listed", "age", "foreign", "sex")],
  design = paste("twophase(id=list(~ea,~hh), strata=list(~st,~s2), probs=list(~p1,NULL)",
                 "[or fpc=list(~N1,NULL)], subset=~in2, data=<every listed household>)"),
  cases = cases
), "tests/reference/twophase.json", digits = NA, auto_unbox = TRUE, dataframe = "columns")
cat("wrote tests/reference/twophase.json:", sum(h$in2), "phase-2 households of", nrow(h), "listed\n")
