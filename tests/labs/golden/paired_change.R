# Golden numbers for offlabel's lab chart review statistics (tests/labs/test_lab_stats.py).
# Run once (R 4.2): Rscript paired_change.R  (writes paired_change_data.csv and paired_change.csv)
# Data: lognormal "ALT-like" pairs, and a small integer set; the change is after - before.
set.seed(2016)
n <- c(12, 40, 3)
rows <- list()
data <- list()
for (k in seq_along(n)) {
  level <- rnorm(n[k], 0, 0.3)
  before <- round(22 * exp(level + rnorm(n[k], 0, 0.2)))
  after <- round(22 * 1.3 * exp(level + rnorm(n[k], 0, 0.2)))
  data[[k]] <- data.frame(set = k, before = before, after = after)
}
data[[4]] <- data.frame(set = 4, before = c(8, 30, 30, 50), after = c(12, 40, 40, 60))
d <- do.call(rbind, data)
write.csv(d, "paired_change_data.csv", row.names = FALSE)
for (k in unique(d$set)) {
  x <- d[d$set == k, ]
  t1 <- t.test(x$after, x$before, paired = TRUE)
  t2 <- t.test(log(x$after), log(x$before), paired = TRUE)
  q <- quantile(x$after, c(0.25, 0.5, 0.75))  # type 7, R's default
  rows[[length(rows) + 1]] <- data.frame(
    set = k, n = nrow(x), mean_change = unname(t1$estimate), lower = t1$conf.int[1], upper = t1$conf.int[2],
    sd_change = sd(x$after - x$before), ratio = exp(unname(t2$estimate)), ratio_lower = exp(t2$conf.int[1]),
    ratio_upper = exp(t2$conf.int[2]), mean_after = mean(x$after), sd_after = sd(x$after),
    q25_after = q[[1]], median_after = q[[2]], q75_after = q[[3]])
}
out <- do.call(rbind, rows)
out[] <- lapply(out, function(v) sprintf("%.17g", v))  # full precision (write.csv keeps 15 digits)
write.csv(out, "paired_change.csv", row.names = FALSE, quote = FALSE)
