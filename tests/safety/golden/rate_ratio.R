# Golden numbers for offlabel.stats.rates.rate_ratio: R's exact two-sample Poisson test.
# poisson.test(c(x1, x2), c(t1, t2)) conditions on x1 + x2 (binom.test on x1); its estimate is
# (x1/t1)/(x2/t2), its interval the Clopper-Pearson interval mapped to the ratio scale.
# Run: Rscript rate_ratio.R > rate_ratio.csv   (R 4.2, stats package only)
cases <- read.csv(text = "
x1,t1,x2,t2,level
12,1000.5,30,4000,0.95
0,50,7,100,0.95
5,10,0,20,0.95
150,80.25,400,410.7,0.95
3,1.2,3,1.2,0.95
2000,1500,1800,1600,0.95
1,365,1,3650,0.95
17,2.5,9,7.75,0.90
40,3650,22,18250,0.99
8,120.3,95,1311.9,0.95
")
out <- do.call(rbind, lapply(seq_len(nrow(cases)), function(i) {
  r <- cases[i, ]
  p <- poisson.test(c(r$x1, r$x2), c(r$t1, r$t2), conf.level = r$level)
  data.frame(r, estimate = unname(p$estimate), lower = p$conf.int[1], upper = p$conf.int[2],
             p_value = p$p.value)
}))
write.csv(out, stdout(), row.names = FALSE)
