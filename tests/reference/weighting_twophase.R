# Reference fixture: a synthetic two-phase migration survey, weighted step by step (survey 4.1-1).
# Run from the repository root:  Rscript tests/reference/weighting_twophase.R
# Writes tests/reference/weighting_twophase.json: the sampled households (with nonrespondents), the
# population controls, the weights after each step and svymean/svytotal with SEs after calibration.
#
# Design (Bilsborrow's recipe): 4 regions (strata) of 50 enumeration areas (EAs); 8 EAs per region by
# PPS on the census household count (the measure of size); in each EA the households are listed and
# 30 are drawn for the screener; the screener classes households as emigrant / return / none; phase 2
# keeps all emigrant and return households and none-households at rate 0.35. Response depends on the
# class and on urban/rural.
suppressMessages({library(survey); library(jsonlite)})
set.seed(5101)
regions <- c("north", "south", "east", "west")
ea <- data.frame(stratum = rep(regions, each = 50), ea = 1:200)
ea$mos <- rpois(200, 120) + 40                       # census households (measure of size)
ea$urban <- ifelse(runif(200) < 0.4, "urban", "rural")
ea$prev <- rbeta(200, 0.6, 6) * ifelse(ea$stratum == "north", 3, 1)   # clustered emigration
ea$listed <- pmax(round(ea$mos * runif(200, 0.85, 1.2)), 35)
ea$size_total <- ave(ea$mos, ea$stratum, FUN = sum)
ea$n_ea <- 8
pop <- ea[rep(1:200, ea$listed), ]
pop$hhsize <- 1 + rpois(nrow(pop), 3.2)
u <- runif(nrow(pop))
pop$class <- ifelse(u < pmin(pop$prev, 0.6), "emigrant", ifelse(u < pmin(pop$prev, 0.6) + 0.05, "return", "none"))

# stage 1: 8 EAs per region, PPS (inclusion probability n * mos / total mos)
sel <- unlist(lapply(split(ea, ea$stratum), function(d) sample(d$ea, 8, prob = d$mos)))
# stage 2: 30 listed households per selected EA for the screener
s <- do.call(rbind, lapply(sel, function(e) { d <- pop[pop$ea == e, ]; d[sample(nrow(d), 30), ] }))
s$selected <- 30
# phase 2: keep emigrant and return households, none-households at rate 0.35
rates <- c(emigrant = 1, `return` = 1, none = 0.35)
s <- s[runif(nrow(s)) < rates[s$class], ]
rr <- c(emigrant = 0.8, `return` = 0.85, none = 0.9)[s$class] * ifelse(s$urban == "urban", 0.85, 1)
s$responded <- as.integer(runif(nrow(s)) < rr)
s$remit <- ifelse(s$class == "emigrant" & s$responded == 1, round(rlnorm(nrow(s), 7, 1)), 0)
s$emig <- as.integer(s$class == "emigrant")
rownames(s) <- NULL
s <- s[, c("stratum", "ea", "urban", "mos", "size_total", "n_ea", "listed", "selected", "class",
           "responded", "hhsize", "emig", "remit")]

# base weights: 1 / (pi1 * pi2 * nu)
s$w_base <- 1 / ((s$n_ea * s$mos / s$size_total) * (s$selected / s$listed) * rates[s$class])
# nonresponse within classes stratum x screening class
cls <- interaction(s$stratum, s$class)
f <- ave(s$w_base, cls, FUN = sum) / ave(s$w_base * s$responded, cls, FUN = sum)
s$w_nr <- ifelse(s$responded == 1, s$w_base * f, 0)

resp <- s[s$responded == 1, ]
d0 <- svydesign(id = ~ea, strata = ~stratum, weights = ~w_nr, data = resp)
N_region <- table(pop$stratum); N_urban <- table(pop$urban)
region_t <- data.frame(stratum = names(N_region), Freq = as.vector(N_region))
urban_t <- data.frame(urban = names(N_urban), Freq = as.vector(N_urban))
persons <- sum(pop$hhsize)
lev <- sort(regions)
pop_lin <- c(`(Intercept)` = nrow(pop), setNames(as.vector(N_region[lev[-1]]), paste0("stratum", lev[-1])),
             urbanurban = as.vector(N_urban["urban"]), hhsize = persons)

est <- function(d) {
  m <- svymean(~emig + hhsize, d); t <- svytotal(~remit + emig, d)
  list(weights = unname(weights(d)), mean = unname(coef(m)), se_mean = unname(SE(m)),
       total = unname(coef(t)), se_total = unname(SE(t)))
}
res <- list(base = est(d0))
res$poststratify <- est(postStratify(d0, ~stratum, region_t))
res$rake <- est(rake(d0, list(~stratum, ~urban), list(region_t, urban_t),
                     control = list(maxit = 100, epsilon = 1e-10)))
lin <- calibrate(d0, ~stratum + urban + hhsize, pop_lin)
res$calibrate_linear <- est(lin)
res$calibrate_raking <- est(calibrate(d0, ~stratum + urban + hhsize, pop_lin, calfun = "raking"))
res$calibrate_logit <- est(calibrate(d0, ~stratum + urban + hhsize, pop_lin, calfun = "logit",
                                     bounds = c(0.3, 3)))
wl <- weights(lin)
res$trim <- est(trimWeights(lin, upper = 2.5 * median(wl), lower = 0.4 * median(wl), strict = TRUE))
res$trim_bounds <- c(0.4 * median(wl), 2.5 * median(wl))

write_json(list(
  generated_by = "tests/reference/weighting_twophase.R",
  survey_version = as.character(packageVersion("survey")),
  rates = as.list(rates),
  sample = s,
  controls = list(stratum = as.list(setNames(as.vector(N_region), names(N_region))),
                  urban = as.list(setNames(as.vector(N_urban), names(N_urban))),
                  households = nrow(pop), persons = persons),
  design = "svydesign(id=~ea, strata=~stratum, weights=~w_nr, data=respondents)",
  estimates = "svymean(~emig + hhsize), svytotal(~remit + emig)",
  cases = res
), "tests/reference/weighting_twophase.json", digits = NA, auto_unbox = TRUE, dataframe = "columns")
cat("wrote tests/reference/weighting_twophase.json:", nrow(s), "sampled households,", nrow(resp), "respondents\n")
