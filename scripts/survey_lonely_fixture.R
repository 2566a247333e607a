#!/usr/bin/env Rscript
# Generates tests/fixtures/survey_lonely_expected.json: the degenerate-design rule of issue 15 checked
# against R's `survey`. Cohort B has ONE participant (a "lonely PSU"): it has no estimate of its own,
# and the overall figures are R's with options(survey.lonely.psu = "adjust"). The Rust test
# `stats::profile::tests::lonely_cohort_matches_r_survey_adjust` compares against this file.
#
#   apt-get install -y r-base-core r-cran-survey
#   Rscript scripts/survey_lonely_fixture.R > tests/fixtures/survey_lonely_expected.json
#
# Same design and estimators as scripts/survey_fixture.R: svydesign(ids = ~id, strata = ~cohort,
# fpc = ~N); overall theta = sum_h W_h theta_h by svycontrast on the cohorts' joint totals;
# multiplier = overall net / overall gross; df = degf(design) = n - H.
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "adjust")
level <- 0.95
set.seed(20261202)

pops <- c(A = 500, B = 40, C = 2000)
ns <- c(A = 25, B = 1, C = 20)
rows <- list()
for (h in names(pops)) {
  n <- ns[[h]]
  n_tasks <- rpois(n, 10) + 1
  used_tasks <- rbinom(n, n_tasks, 0.6)
  used_pings <- rpois(n, 5) + 1
  oversight_min <- round(used_pings * rgamma(n, shape = 1.5, rate = 1.5 / 10), 1)
  gross_hours <- round(rgamma(n, shape = 3, rate = 3 / 10), 2)
  rows[[h]] <- data.frame(id = sprintf("%s-%03d", h, seq_len(n)), cohort = h, n_tasks = n_tasks,
                          used_tasks = used_tasks, used_pings = used_pings,
                          oversight_min = oversight_min, gross_hours = gross_hours,
                          stringsAsFactors = FALSE)
}
d <- do.call(rbind, rows)
rownames(d) <- NULL
d$N <- unname(pops[d$cohort])
d$one <- 1
des <- svydesign(ids = ~id, strata = ~cohort, fpc = ~N, data = d)
W <- pops / sum(pops)
H <- length(pops)

Tby <- suppressWarnings(svyby(~gross_hours + used_tasks + n_tasks + oversight_min + used_pings + one,
                              ~cohort, des, svytotal, covmat = TRUE))
tot_coef <- coef(Tby)
tot_vcov <- vcov(Tby)
clean <- function(x) gsub("[^A-Za-z0-9_]", "_", x)
names(tot_coef) <- clean(names(tot_coef))
dimnames(tot_vcov) <- list(names(tot_coef), names(tot_coef))
tot <- structure(tot_coef, var = tot_vcov, statistic = "total", class = "svystat")
sym <- function(h, v) as.name(paste0(h, "_", v))
g_expr <- function(h) call("/", sym(h, "gross_hours"), sym(h, "one"))
y_expr <- function(h) call("/", sym(h, "used_tasks"), sym(h, "n_tasks"))
o_expr <- function(h) call("/", sym(h, "oversight_min"), sym(h, "used_pings"))
net_expr <- function(h) bquote(.(g_expr(h)) * .(y_expr(h)) - .(g_expr(h)) * .(o_expr(h)) / 60)
wsum <- function(f) {
  terms <- lapply(names(pops), function(h) bquote(.(W[[h]]) * .(f(h))))
  Reduce(function(a, b) call("+", a, b), terms)
}
exprs <- list(
  yield = wsum(y_expr), oversight_min_per_hour = wsum(o_expr), gross_hours_month = wsum(g_expr),
  net_hours_month = wsum(net_expr), labor_multiplier = call("/", wsum(net_expr), wsum(g_expr))
)
con <- svycontrast(tot, exprs)
est <- coef(con)
se <- sqrt(diag(vcov(con)))
df <- degf(des)
stopifnot(df == nrow(d) - H)
# NOTE: by this route (each cohort's own estimator, then the weighted sum) the lonely cohort's
# influence on its own estimate is 0, so with "adjust" (which does not centre a lonely PSU) it adds
# nothing to the variance. svymean(~gross_hours, des) on the whole design gives a larger SE: its
# influence values are deviations from the grand mean. The product follows the svyby route, the one
# its estimators are defined by; the difference is reported here for the record.
Go <- suppressWarnings(svymean(~gross_hours, des))
message(sprintf("overall gross SE: svyby route %.6g, svymean on the design %.6g",
                se[["gross_hours_month"]], SE(Go)))
q <- qt(1 - (1 - level) / 2, df)
one <- function(k) list(estimate = unname(est[[k]]), se = unname(se[[k]]), df = df,
                        ci_lower = unname(est[[k]] - q * se[[k]]), ci_upper = unname(est[[k]] + q * se[[k]]))
out <- list(
  level = level,
  populations = as.list(pops),
  participants = d[, c("id", "cohort", "n_tasks", "used_tasks", "used_pings", "oversight_min", "gross_hours")],
  expected_overall = lapply(setNames(names(exprs), names(exprs)), one),
  n = nrow(d)
)
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE))
