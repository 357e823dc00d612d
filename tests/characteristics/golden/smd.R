# Golden standardised mean differences for tests/characteristics/test_balance.py.
# Run once from this folder: Rscript smd.R  (writes smd_data.csv and smd_expected.csv).
# Formulas by hand as tableone computes them (tableone:::StdDiff, StdDiffMulti; Austin 2009,
# Yang & Dalton 2012), with MASS::ginv for the categorical SMD.
library(MASS)
set.seed(2013)
n <- c(reference = 60, persistent = 45)
d <- do.call(rbind, lapply(names(n), function(s) {
  k <- n[[s]]
  shift <- if (s == "persistent") 1 else 0
  data.frame(stratum = s,
             age = round(rnorm(k, 48 + 3 * shift, 9 + shift)),
             prior_days = round(runif(k, 730, 6000)),
             female = rbinom(k, 1, 0.7 - 0.1 * shift),
             opioid = rbinom(k, 1, 0.3 + 0.15 * shift),
             age_group = sample(c("18-39", "40-49", "50-59", "60+"), k, replace = TRUE,
                                prob = if (shift) c(0.1, 0.3, 0.4, 0.2) else c(0.25, 0.35, 0.25, 0.15)))
}))
write.csv(d, "smd_data.csv", row.names = FALSE)

a <- d[d$stratum == "persistent", ]
b <- d[d$stratum == "reference", ]
cont <- function(v) (mean(a[[v]]) - mean(b[[v]])) / sqrt((var(a[[v]]) + var(b[[v]])) / 2)
bin <- function(v) {
  p1 <- mean(a[[v]]); p2 <- mean(b[[v]])
  (p1 - p2) / sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
}
multi <- function(v) {
  lev <- sort(unique(d[[v]]))
  p1 <- as.numeric(table(factor(a[[v]], lev))) / nrow(a)
  p2 <- as.numeric(table(factor(b[[v]], lev))) / nrow(b)
  t <- (p1 - p2)[-1]
  cv <- function(p) { p <- p[-1]; m <- -outer(p, p); diag(m) <- p * (1 - p); m }
  s <- (cv(p1) + cv(p2)) / 2
  sqrt(drop(t(t) %*% ginv(s) %*% t))
}
out <- data.frame(variable = c("age", "prior_days", "female", "opioid", "age_group"),
                  kind = c("continuous", "continuous", "binary", "binary", "categorical"),
                  smd = c(cont("age"), cont("prior_days"), bin("female"), bin("opioid"), multi("age_group")))
write.csv(format(out, digits = 17), "smd_expected.csv", row.names = FALSE, quote = FALSE)
