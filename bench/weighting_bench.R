# R survey side of bench/weighting_bench.py: raking on 3 margins and linear calibration of a
# bootstrap replicate design (1M persons, 200 replicates). Usage: Rscript weighting_bench.R DATA.csv R OUT.json
suppressMessages({library(survey); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
R <- as.integer(args[2])
d$region <- factor(d$region); d$sex <- factor(d$sex); d$age <- factor(d$age)
des <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
set.seed(1)
t_rep <- system.time(rep <- as.svrepdesign(des, type = "bootstrap", replicates = R))[["elapsed"]]
tot <- function(v) { t <- xtabs(d$pop_w ~ d[[v]]); data.frame(x = names(t), Freq = as.vector(t)) }
margins <- lapply(c("region", "sex", "age"), function(v) { t <- tot(v); names(t)[1] <- v; t })
t_rake <- system.time(raked <- rake(rep, list(~region, ~sex, ~age), margins,
                                    control = list(maxit = 100, epsilon = 1e-6)))[["elapsed"]]
mm <- model.matrix(~region + sex + age + hhsize, d)
pop <- colSums(mm * d$pop_w)
t_cal <- system.time(cal <- calibrate(rep, ~region + sex + age + hhsize, pop))[["elapsed"]]
write_json(list(replicates_s = t_rep, rake_s = t_rake, calibrate_s = t_cal,
                rake_total = sum(weights(raked, "sampling")), cal_total = sum(weights(cal, "sampling"))),
           args[3], auto_unbox = TRUE, digits = NA)
