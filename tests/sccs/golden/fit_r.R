# Fit the SCCS interval tables of make_tables.py in R: the reference numbers of test_golden.py.
#
#   cd tests/sccs/golden && Rscript fit_r.R
#
# Equivalent forms of the SCCS likelihood (Farrington 1995; Whitaker et al. 2006):
# - gnm: Poisson regression with one eliminated (fixed) effect per case and offset log(length);
# - glm: the same Poisson model with the case effects as a factor (an indicator per case);
# - survival::clogit: each event is a stratum of all its case's pieces, the piece holding the event
#   being the "case" row, with offset log(length) (the conditional multinomial likelihood).
# glm and clogit converge to ~1e-13 relative; gnm stops at its score tolerance, which on the
# ill-conditioned age-spline coefficients of the spline table leaves ~1e-5 (any tolerance).
# Writes r_estimates.csv.
library(gnm)
library(survival)

out <- list()
for (tab in c("groups", "splines")) {
  d <- read.csv(sprintf("intervals_%s.csv", tab))
  xs <- grep("^x[0-9]+$", names(d), value = TRUE)
  rhs <- paste(xs, collapse = " + ")
  fit <- gnm(as.formula(paste("events ~", rhs, "+ offset(log(length))")), eliminate = factor(case),
             family = poisson, data = d, tolerance = 1e-12, iterMax = 200, verbose = FALSE)
  co <- summary(fit)$coefficients
  out[[length(out) + 1]] <- data.frame(table = tab, method = "gnm", column = rownames(co),
                                       coef = co[, 1], se = co[, 2])
  gfit <- glm(as.formula(paste("events ~", rhs, "+ factor(case) + offset(log(length))")), family = poisson,
              data = d, control = glm.control(epsilon = 1e-15, maxit = 200))
  go <- summary(gfit)$coefficients[xs, ]
  out[[length(out) + 1]] <- data.frame(table = tab, method = "glm", column = xs, coef = go[, 1], se = go[, 2])

  # clogit: one stratum per event; the event's piece has status 1, the case's other pieces 0
  d$row <- seq_len(nrow(d))
  ev <- d[rep(d$row[d$events > 0], d$events[d$events > 0]), c("case", "row")]
  ev$stratum <- seq_len(nrow(ev))
  long <- merge(ev, d, by = "case", suffixes = c(".event", ""))
  long$status <- as.integer(long$row == long$row.event)
  cfit <- clogit(as.formula(paste("status ~", rhs, "+ offset(log(length)) + strata(stratum)")), data = long,
                 method = "exact", control = coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-13))
  cc <- summary(cfit)$coefficients
  out[[length(out) + 1]] <- data.frame(table = tab, method = "clogit", column = rownames(cc),
                                       coef = cc[, "coef"], se = cc[, "se(coef)"])
}
res <- do.call(rbind, out)
z <- qnorm(0.975)
res$irr <- exp(res$coef)
res$irr_lower <- exp(res$coef - z * res$se)
res$irr_upper <- exp(res$coef + z * res$se)
num <- sapply(res, is.numeric)
res[num] <- lapply(res[num], function(v) sprintf("%.17g", v))  # all the digits, not write.csv's 15
write.csv(res, "r_estimates.csv", row.names = FALSE, quote = FALSE)
cat(R.version.string, "gnm", as.character(packageVersion("gnm")), "survival",
    as.character(packageVersion("survival")), "\n")
