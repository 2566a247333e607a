#!/usr/bin/env Rscript
# Generates tests/fixtures/survey_zero_use_expected.json: the second degenerate-design rule of issue 15
# checked against R's `survey`. Cohort B answered no ping "yes, used" (and logged no diary task), so it
# has no oversight (or yield) ratio of its own and sum_h W_h theta_h is undefined; the overall yield and
# oversight are then the combined ratio over the whole design, svyratio(~a, ~b, design). The Rust test
# `stats::profile::tests::zero_use_cohort_matches_r_survey_combined_ratio` compares against this file.
#
#   apt-get install -y r-base-core r-cran-survey
#   Rscript scripts/survey_zero_use_fixture.R > tests/fixtures/survey_zero_use_expected.json
#
# Design as scripts/survey_fixture.R: svydesign(ids = ~id, strata = ~cohort, fpc = ~N); df = n - H.
suppressPackageStartupMessages(library(survey))
level <- 0.95
set.seed(20261203)

pops <- c(A = 300, B = 60, C = 1500)
ns <- c(A = 14, B = 6, C = 11)
rows <- list()
for (h in names(pops)) {
  n <- ns[[h]]
  n_tasks <- if (h == "B") rep(0, n) else rpois(n, 8) + 1
  used_tasks <- if (h == "B") rep(0, n) else rbinom(n, n_tasks, 0.55)
  used_pings <- if (h == "B") rep(0, n) else rpois(n, 4) + 1
  oversight_min <- round(used_pings * rgamma(n, shape = 1.2, rate = 1.2 / 9), 1)
  gross_hours <- round(rgamma(n, shape = 2.5, rate = 2.5 / 8), 2)
  rows[[h]] <- data.frame(id = sprintf("%s-%03d", h, seq_len(n)), cohort = h, n_tasks = n_tasks,
                          used_tasks = used_tasks, used_pings = used_pings,
                          oversight_min = oversight_min, gross_hours = gross_hours,
                          stringsAsFactors = FALSE)
}
d <- do.call(rbind, rows)
rownames(d) <- NULL
d$N <- unname(pops[d$cohort])
des <- svydesign(ids = ~id, strata = ~cohort, fpc = ~N, data = d)
df <- degf(des)
stopifnot(df == nrow(d) - length(pops))
q <- qt(1 - (1 - level) / 2, df)
one <- function(r) {
  e <- unname(coef(r)[1]); s <- unname(SE(r)[1])
  list(estimate = e, se = s, df = df, ci_lower = e - q * s, ci_upper = e + q * s)
}
out <- list(
  level = level,
  populations = as.list(pops),
  participants = d[, c("id", "cohort", "n_tasks", "used_tasks", "used_pings", "oversight_min", "gross_hours")],
  expected_overall = list(
    yield = one(svyratio(~used_tasks, ~n_tasks, des)),
    oversight_min_per_hour = one(svyratio(~oversight_min, ~used_pings, des))
  ),
  n = nrow(d)
)
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE))
