# Regenerates the golden files of tests/stats/ with R (Debian r-base-core 4.2, r-cran-survival 3.5).
#   cd tests/stats/golden && Rscript make_golden.R
# Numbers are written with 15 significant digits so that the tests can compare to 1e-10.
options(digits = 15)
library(survival)

k <- c(0, 1, 2, 5, 10)
ci <- t(sapply(k, function(x) poisson.test(x)$conf.int))
write.csv(data.frame(events = k, lower = ci[, 1], upper = ci[, 2]), "poisson_exact_ci.csv", row.names = FALSE)

x <- c(0, 5, 10); n <- c(10, 10, 10)
cp <- t(mapply(function(x, n) binom.test(x, n)$conf.int, x, n))
wi <- t(mapply(function(x, n) prop.test(x, n, correct = FALSE)$conf.int, x, n))
write.csv(data.frame(successes = x, trials = n, exact_lower = cp[, 1], exact_upper = cp[, 2],
                     wilson_lower = wi[, 1], wilson_upper = wi[, 2]), "binomial_ci.csv", row.names = FALSE)

write.csv(data.frame(time = aml$time, status = aml$status, x = aml$x), "km_aml_data.csv", row.names = FALSE)
s <- summary(survfit(Surv(time, status) ~ x, data = aml))
write.csv(data.frame(group = sub("x=", "", s$strata), time = s$time, n_risk = s$n.risk, n_event = s$n.event,
                     survival = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper),
          "km_aml.csv", row.names = FALSE)
