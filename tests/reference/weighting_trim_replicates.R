# Trimming replicate weights in R by hand, column by column (R's trimWeights.svyrep.design is not
# usable: it sets prob from the untrimmed weights and mis-shapes the replicate matrix).
# Usage: Rscript weighting_trim_replicates.R in.csv out.json SCALE RSCALES_CSV
# in.csv: the raked design (w, rep_1..rep_R) and the analysis variables. Bounds: 0.4 and 2.5 times
# each column's median among its non-zero weights, strict = TRUE, as the survmig test.
suppressMessages(library(survey))
library(jsonlite)
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
scale <- as.numeric(args[3])
rscales <- as.numeric(strsplit(args[4], ",")[[1]])
repcols <- grep("^rep_[0-9]+$", names(d), value = TRUE)

# trimWeights.survey.design2's arithmetic on a weight vector (R's function itself stores 1/weight
# as prob and reads 1/prob back; with strict = TRUE that round trip can recurse until the C stack
# overflows on bootstrap columns, so the same lines are applied to the vector directly)
trim_vector <- function(pw, lower, upper) {
  repeat {
    outside <- pw < lower | pw > upper
    if (!any(outside)) return(pw)
    pwnew <- pmax(lower, pmin(pw, upper))
    trimmings <- pw - pwnew
    pwnew[!outside] <- pwnew[!outside] + sum(trimmings) / sum(!outside)
    pw <- pwnew
  }
}
trim_column <- function(w) {
  live <- w != 0
  m <- median(w[live])
  out <- w
  out[live] <- trim_vector(w[live], 0.4 * m, 2.5 * m)
  out
}
w_trim <- trim_column(d$w)
retrim <- sapply(repcols, function(col) trim_column(d[[col]]))
fixed <- as.matrix(d[repcols]) * (w_trim / d$w)
d$urban01 <- as.numeric(d$urban == "urban")
se_of <- function(rep) {
  des <- svrepdesign(data = d, weights = w_trim, repweights = rep, type = "other",
                     scale = scale, rscales = rscales, combined.weights = TRUE, mse = FALSE)
  m <- svymean(~hhsize + remit + urban01, des)
  list(mean = unname(coef(m)), se = unname(SE(m)))
}
out <- list(weights = w_trim, retrim = se_of(retrim), fixed = se_of(fixed))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), args[2])
