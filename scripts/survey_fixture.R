#!/usr/bin/env Rscript
# Generates tests/fixtures/survey_expected.json: a synthetic study (3 cohorts with unequal sampling
# fractions) and the Layer 2 profile that R's `survey` package computes for it. The Rust tests in
# src/stats/profile.rs compare against this file; `.ci/run` does not need R.
#
#   apt-get install -y r-base-core r-cran-survey
#   Rscript scripts/survey_fixture.R > tests/fixtures/survey_expected.json
#
# Design: svydesign(ids = ~id, strata = ~cohort, fpc = ~N): participants are the clusters (ultimate
# clusters), cohorts the strata, N the cohort's roster size. Mapping to the Rust quantities
# (SPEC.md, "The Layer 2 profile"):
#   cohort yield Y_h      = svyratio(~used_tasks, ~n_tasks) in the cohort (svyby over cohort)
#   cohort oversight O_h  = svyratio(~oversight_min, ~used_pings) in the cohort
#   cohort gross G_h      = svymean(~gross_hours) in the cohort
#   cohort net            = G_h*Y_h - G_h*O_h/60   (svycontrast, delta method on the cohort's totals:
#                           the same as combining the participants' influence values)
#   cohort multiplier     = net/G_h = Y_h - O_h/60 (svycontrast, same way)
#   overall yield, oversight, gross, net = sum_h W_h * theta_h, W_h = N_h / sum(N)  (svycontrast on
#                           svyby(..., covmat = TRUE); overall gross is also svymean over the design)
#   overall multiplier    = overall net / overall gross   (svycontrast; NOT overall Y - overall O/60)
# Degrees of freedom: n_h - 1 in a cohort, n - H overall (= degf(design)); intervals use qt().
suppressPackageStartupMessages(library(survey))

level <- 0.95
set.seed(20240917)

pops <- c(A = 2500, B = 12500, C = 10000)
ns <- c(A = 30, B = 60, C = 50)
p_yield <- c(A = 0.70, B = 0.55, C = 0.45) # mean share of tasks used without major rework
ov_mean <- c(A = 12, B = 16, C = 20) # mean oversight minutes per "used" ping
g_mean <- c(A = 14, B = 9, C = 6) # mean gross AI hours per month

rows <- list()
for (h in names(pops)) {
  n <- ns[[h]]
  n_tasks <- rpois(n, 14)
  p_i <- rbeta(n, 8 * p_yield[[h]], 8 * (1 - p_yield[[h]]))
  used_tasks <- rbinom(n, n_tasks, p_i)
  used_pings <- rpois(n, 6)
  oversight_min <- vapply(used_pings, function(u) {
    if (u == 0) 0 else round(sum(rgamma(u, shape = 2, rate = 2 / ov_mean[[h]])), 1)
  }, numeric(1))
  gross_hours <- round(rgamma(n, shape = 3, rate = 3 / g_mean[[h]]), 2)
  rows[[h]] <- data.frame(
    id = sprintf("%s-%03d", h, seq_len(n)), cohort = h, n_tasks = n_tasks,
    used_tasks = used_tasks, used_pings = used_pings, oversight_min = oversight_min,
    gross_hours = gross_hours, stringsAsFactors = FALSE
  )
}
d <- do.call(rbind, rows)
rownames(d) <- NULL
d$N <- unname(pops[d$cohort])
d$one <- 1

des <- svydesign(ids = ~id, strata = ~cohort, fpc = ~N, data = d)
W <- pops / sum(pops)
H <- length(pops)

# --- per-cohort Y, O, G with svyby ------------------------------------------------------------
Yby <- svyby(~used_tasks, ~cohort, des, svyratio, denominator = ~n_tasks, covmat = TRUE)
Oby <- svyby(~oversight_min, ~cohort, des, svyratio, denominator = ~used_pings, covmat = TRUE)
Gby <- svyby(~gross_hours, ~cohort, des, svymean, covmat = TRUE)

# --- joint totals per cohort: net and multiplier by the delta method ---------------------------
# svyby(svytotal, covmat = TRUE) gives every cohort's totals with their joint covariance (from the
# participants' influence values); svycontrast differentiates the expression symbolically, so the
# variance is grad' V grad = the variance of the combined per-participant influence values.
Tby <- svyby(~gross_hours + used_tasks + n_tasks + oversight_min + used_pings + one, ~cohort, des,
             svytotal, covmat = TRUE)
tot_coef <- coef(Tby)
tot_vcov <- vcov(Tby)
clean <- function(x) gsub("[^A-Za-z0-9_]", "_", x) # "A:gross_hours" -> "A_gross_hours"
names(tot_coef) <- clean(names(tot_coef))
dimnames(tot_vcov) <- list(names(tot_coef), names(tot_coef))
tot <- structure(tot_coef, var = tot_vcov, statistic = "total", class = "svystat")

sym <- function(h, v) as.name(paste0(h, "_", v))
g_expr <- function(h) call("/", sym(h, "gross_hours"), sym(h, "one"))
y_expr <- function(h) call("/", sym(h, "used_tasks"), sym(h, "n_tasks"))
o_expr <- function(h) call("/", sym(h, "oversight_min"), sym(h, "used_pings"))
net_expr <- function(h) {
  bquote(.(g_expr(h)) * .(y_expr(h)) - .(g_expr(h)) * .(o_expr(h)) / 60)
}
mult_expr <- function(h) bquote(.(net_expr(h)) / .(g_expr(h)))
wsum <- function(f) {
  terms <- lapply(names(pops), function(h) bquote(.(W[[h]]) * .(f(h))))
  Reduce(function(a, b) call("+", a, b), terms)
}

exprs <- list()
for (h in names(pops)) {
  exprs[[paste0(h, ".yield")]] <- y_expr(h)
  exprs[[paste0(h, ".oversight")]] <- o_expr(h)
  exprs[[paste0(h, ".gross")]] <- g_expr(h)
  exprs[[paste0(h, ".net")]] <- net_expr(h)
  exprs[[paste0(h, ".mult")]] <- mult_expr(h)
}
exprs[["overall.yield"]] <- wsum(y_expr)
exprs[["overall.oversight"]] <- wsum(o_expr)
exprs[["overall.gross"]] <- wsum(g_expr)
exprs[["overall.net"]] <- wsum(net_expr)
exprs[["overall.mult"]] <- call("/", wsum(net_expr), wsum(g_expr))
con <- svycontrast(tot, exprs)
est <- coef(con)
se <- sqrt(diag(vcov(con)))

# --- cross-checks between the survey routes ----------------------------------------------------
chk <- function(a, b, what) {
  if (!isTRUE(all.equal(as.numeric(a), as.numeric(b), tolerance = 1e-10))) {
    stop(sprintf("cross-check failed for %s: %.17g vs %.17g", what, as.numeric(a), as.numeric(b)))
  }
}
seby <- function(x) setNames(as.numeric(SE(x)), rownames(x)) # SE() of svyby drops the names
for (h in names(pops)) {
  chk(coef(Yby)[[h]], est[[paste0(h, ".yield")]], paste(h, "yield"))
  chk(seby(Yby)[[h]], se[[paste0(h, ".yield")]], paste(h, "yield se"))
  chk(coef(Oby)[[h]], est[[paste0(h, ".oversight")]], paste(h, "oversight"))
  chk(seby(Oby)[[h]], se[[paste0(h, ".oversight")]], paste(h, "oversight se"))
  chk(coef(Gby)[[h]], est[[paste0(h, ".gross")]], paste(h, "gross"))
  chk(seby(Gby)[[h]], se[[paste0(h, ".gross")]], paste(h, "gross se"))
  # the cohort alone through svyratio on the domain
  sub <- subset(des, cohort == h)
  r <- svyratio(~used_tasks, ~n_tasks, sub)
  chk(coef(r), est[[paste0(h, ".yield")]], paste(h, "subset yield"))
  chk(SE(r), se[[paste0(h, ".yield")]], paste(h, "subset yield se"))
}
Wv <- unname(W[rownames(Yby)])
Yo <- svycontrast(Yby, Wv)
chk(coef(Yo), est[["overall.yield"]], "overall yield via svyby")
chk(SE(Yo), se[["overall.yield"]], "overall yield se via svyby")
Oo <- svycontrast(Oby, Wv)
chk(SE(Oo), se[["overall.oversight"]], "overall oversight se via svyby")
Go <- svymean(~gross_hours, des) # with these weights the design mean is sum_h W_h G_h
chk(coef(Go), est[["overall.gross"]], "overall gross via svymean")
chk(SE(Go), se[["overall.gross"]], "overall gross se via svymean")
chk(degf(des), nrow(d) - H, "overall df")

# An independent hand linearization (the formula the Rust code uses) for the overall multiplier.
ultimate <- function(z) { # sum_h (1 - n_h/N_h) n_h/(n_h - 1) sum (z - zbar_h)^2
  v <- 0
  for (h in names(pops)) {
    zh <- z[d$cohort == h]
    nh <- length(zh)
    v <- v + (1 - nh / pops[[h]]) * nh / (nh - 1) * sum((zh - mean(zh))^2)
  }
  v
}
zy <- zo <- zg <- numeric(nrow(d))
Yh <- Oh <- Gh <- numeric(0)
for (h in names(pops)) {
  k <- d$cohort == h
  Yh[h] <- sum(d$used_tasks[k]) / sum(d$n_tasks[k])
  Oh[h] <- sum(d$oversight_min[k]) / sum(d$used_pings[k])
  Gh[h] <- mean(d$gross_hours[k])
  zy[k] <- W[[h]] * (d$used_tasks[k] - Yh[h] * d$n_tasks[k]) / sum(d$n_tasks[k])
  zo[k] <- W[[h]] * (d$oversight_min[k] - Oh[h] * d$used_pings[k]) / sum(d$used_pings[k])
  zg[k] <- W[[h]] * (d$gross_hours[k] - Gh[h]) / sum(k)
}
hh <- d$cohort
znet <- Yh[hh] * zg + Gh[hh] * zy - Oh[hh] / 60 * zg - Gh[hh] / 60 * zo
net_o <- sum(W * (Gh * Yh - Gh * Oh / 60))
g_o <- sum(W * Gh)
zm <- (znet - net_o / g_o * zg) / g_o
chk(net_o / g_o, est[["overall.mult"]], "overall multiplier by hand")
chk(sqrt(ultimate(zm)), se[["overall.mult"]], "overall multiplier se by hand")
chk(sqrt(ultimate(znet)), se[["overall.net"]], "overall net se by hand")
# the two "overall multipliers" really differ on this data
stopifnot(abs(est[["overall.mult"]] - (est[["overall.yield"]] - est[["overall.oversight"]] / 60)) > 1e-4)

# === Extensions (issue 4): oversight per category, segments, design effects ======================
# Drawn AFTER the data above from the same RNG stream, so the participants and every value above are
# unchanged. Each participant's oversight minutes are split (in tenths of a minute, exactly) into the
# four categories; function and tenure are the segments.
cats <- c("verification", "correction", "context", "trust")
tenths <- round(d$oversight_min * 10)
split <- t(vapply(seq_len(nrow(d)), function(i) {
  p <- rgamma(4, shape = c(4, 3, 2, 1))
  as.numeric(rmultinom(1, tenths[i], p / sum(p)))
}, numeric(4)))
for (k in 1:4) d[[cats[k]]] <- split[, k] / 10
stopifnot(all(abs(rowSums(split) / 10 - d$oversight_min) < 1e-9))
fun_p <- list(A = c(0.5, 0.2, 0.3), B = c(0.3, 0.3, 0.4), C = c(0.2, 0.5, 0.3))
d$func <- vapply(d$cohort, function(h) sample(c("Engineering", "Finance", "Sales"), 1, prob = fun_p[[h]]),
                 character(1))
d$tenure <- sample(c("0-2y", "2-5y", "5y+"), nrow(d), replace = TRUE, prob = c(0.3, 0.4, 0.3))
des <- svydesign(ids = ~id, strata = ~cohort, fpc = ~N, data = d)

# --- 1. oversight per category: svyratio per cohort (svyby), overall = sum_h W_h O_kh (svycontrast)
cat_est <- list()
for (k in cats) {
  by <- svyby(as.formula(paste0("~", k)), ~cohort, des, svyratio, denominator = ~used_pings, covmat = TRUE)
  ov <- svycontrast(by, unname(W[rownames(by)]))
  for (h in names(pops)) {
    cat_est[[paste0(h, ".", k)]] <- c(coef(by)[[h]], seby(by)[[h]], ns[[h]] - 1)
  }
  cat_est[[paste0("overall.", k)]] <- c(coef(ov), SE(ov), nrow(d) - H)
  # by hand: z_i = W_h (m_ki - O_kh u_i) / sum_h u
  zk <- numeric(nrow(d))
  for (h in names(pops)) {
    kk <- d$cohort == h
    okh <- sum(d[[k]][kk]) / sum(d$used_pings[kk])
    zk[kk] <- W[[h]] * (d[[k]][kk] - okh * d$used_pings[kk]) / sum(d$used_pings[kk])
  }
  chk(sqrt(ultimate(zk)), SE(ov), paste("overall", k, "se by hand"))
}
# the categories add up to the total oversight ratio
chk(sum(vapply(cats, function(k) cat_est[[paste0("overall.", k)]][1], 0)), est[["overall.oversight"]],
    "categories sum to oversight")

# --- 2. segments: domain estimation on the FULL design (never subset): svyby(~x, ~segment, ...) ----
# Domain d, indicator I: Y_d = sum w I y / sum w I n, O_d = sum w I m / sum w I u, G_d = sum w I g /
# sum w I (w = N_h/n_h); net = G_d Y_d - G_d O_d/60, multiplier = net/G_d = Y_d - O_d/60 (svycontrast
# on the domain totals). df = degf(design) = n - H (confint() on svyby defaults to the normal; we
# pass df = degf(design)).
seg_est <- list()
for (segvar in c("func", "tenure")) {
  levs <- sort(unique(d[[segvar]]))
  Ysb <- svyby(~used_tasks, as.formula(paste0("~", segvar)), des, svyratio, denominator = ~n_tasks)
  Osb <- svyby(~oversight_min, as.formula(paste0("~", segvar)), des, svyratio, denominator = ~used_pings)
  Gsb <- svyby(~gross_hours, as.formula(paste0("~", segvar)), des, svymean)
  for (s in levs) {
    I <- as.numeric(d[[segvar]] == s)
    dd <- des
    dd$variables$Ig <- I * d$gross_hours
    dd$variables$Iy <- I * d$used_tasks
    dd$variables$In <- I * d$n_tasks
    dd$variables$Im <- I * d$oversight_min
    dd$variables$Iu <- I * d$used_pings
    dd$variables$I1 <- I
    tt <- svytotal(~Ig + Iy + In + Im + Iu + I1, dd)
    cc <- svycontrast(tt, list(
      yield = quote(Iy / In), oversight = quote(Im / Iu), gross = quote(Ig / I1),
      net = quote(Ig / I1 * Iy / In - Ig / I1 * Im / Iu / 60),
      mult = quote((Ig / I1 * Iy / In - Ig / I1 * Im / Iu / 60) / (Ig / I1))))
    e <- coef(cc)
    v <- sqrt(diag(vcov(cc)))
    chk(coef(Ysb)[[s]], e[["yield"]], paste(s, "segment yield via svyby"))
    chk(seby(Ysb)[[s]], v[["yield"]], paste(s, "segment yield se via svyby"))
    chk(coef(Osb)[[s]], e[["oversight"]], paste(s, "segment oversight via svyby"))
    chk(seby(Osb)[[s]], v[["oversight"]], paste(s, "segment oversight se via svyby"))
    chk(coef(Gsb)[[s]], e[["gross"]], paste(s, "segment gross via svyby"))
    chk(seby(Gsb)[[s]], v[["gross"]], paste(s, "segment gross se via svyby"))
    key <- paste0(segvar, ".", s)
    seg_est[[key]] <- list(n = sum(I), est = e, se = v, population = coef(tt)[["I1"]],
                           tasks = coef(tt)[["In"]], pings = coef(tt)[["Iu"]])
  }
}
# An "everybody" segment: svyratio on the full design is the COMBINED ratio sum w y / sum w n, which
# is not the profile's overall yield sum_h W_h Y_h (separate ratio); the gross mean is the same.
all_y <- svyratio(~used_tasks, ~n_tasks, des)
all_o <- svyratio(~oversight_min, ~used_pings, des)
stopifnot(abs(coef(all_y) - est[["overall.yield"]]) > 1e-6)
chk(coef(svymean(~gross_hours, des)), est[["overall.gross"]], "everybody gross = overall gross")

# --- 3. design effects (our definition; R's deff differs, both written) --------------------------
# Ours: deff = V_design / V_srs with V_srs the variance under simple random sampling of the UNITS:
#   yield:     tasks as Bernoulli units, V_srs = Y (1 - Y) / sum n * (1 - f);
#   oversight: pings as units, V_srs = s2 / sum u * (1 - f), s2 = sum_i u_i (m_i/u_i - O)^2 / sum u
#              (per-ping variance approximated by the between-participant variance of m_i/u_i
#              weighted by u_i; overall: each cohort's pings weighted to its share W_h);
#   f = n_h/N_h in a cohort, n/N overall; effective n = units / deff.
# R's svyratio(deff = TRUE) = deff(svytotal(linearized r)): the participant is the unit, i.e. the
# design variance over that of a simple random sample of PARTICIPANTS (computed here on the cohort's
# subset). Written as r_deff for reference; the Rust tests do not compare it.
deff_out <- list()
s2_part <- function(k, O) {
  u <- d$used_pings[k]; m <- d$oversight_min[k]; ok <- u > 0
  sum(u[ok] * (m[ok] / u[ok] - O)^2) / sum(u)
}
for (h in names(pops)) {
  k <- d$cohort == h
  f <- 1 - ns[[h]] / pops[[h]]
  Y <- est[[paste0(h, ".yield")]]; vY <- se[[paste0(h, ".yield")]]^2; uY <- sum(d$n_tasks[k])
  vsY <- Y * (1 - Y) / uY * f
  O <- est[[paste0(h, ".oversight")]]; vO <- se[[paste0(h, ".oversight")]]^2; uO <- sum(d$used_pings[k])
  vsO <- s2_part(k, O) / uO * f
  deff_out[[h]] <- list(
    yield = c(deff = vY / vsY, effective_n = uY / (vY / vsY), units = uY, v_design = vY, v_srs = vsY,
              r_deff = as.numeric(deff(svyratio(~used_tasks, ~n_tasks, subset(des, cohort == h), deff = TRUE)))),
    oversight = c(deff = vO / vsO, effective_n = uO / (vO / vsO), units = uO, v_design = vO, v_srs = vsO,
                  r_deff = as.numeric(deff(svyratio(~oversight_min, ~used_pings, subset(des, cohort == h), deff = TRUE)))))
}
fo <- 1 - nrow(d) / sum(pops)
Y <- est[["overall.yield"]]; vY <- se[["overall.yield"]]^2; uY <- sum(d$n_tasks)
vsY <- Y * (1 - Y) / uY * fo
O <- est[["overall.oversight"]]; vO <- se[["overall.oversight"]]^2; uO <- sum(d$used_pings)
s2o <- sum(vapply(names(pops), function(h) {
  k <- d$cohort == h
  W[[h]] * s2_part(k, O)
}, 0))
vsO <- s2o / uO * fo
deff_out[["overall"]] <- list(
  yield = c(deff = vY / vsY, effective_n = uY / (vY / vsY), units = uY, v_design = vY, v_srs = vsY),
  oversight = c(deff = vO / vsO, effective_n = uO / (vO / vsO), units = uO, v_design = vO, v_srs = vsO))

# --- JSON output (by hand: no jsonlite needed) ----------------------------------------------------
num <- function(x) sprintf("%.17g", x)
str <- function(x) paste0("\"", x, "\"")
obj <- function(keys, vals, indent) {
  pad <- strrep("  ", indent)
  paste0("{\n", paste0(pad, "  ", str(keys), ": ", vals, collapse = ",\n"), "\n", pad, "}")
}
metric <- function(key, df, indent) {
  e <- est[[key]]
  s <- se[[key]]
  q <- qt(1 - (1 - level) / 2, df)
  obj(c("estimate", "se", "df", "ci_lower", "ci_upper"),
      c(num(e), num(s), num(df), num(e - q * s), num(e + q * s)), indent)
}
profile_json <- function(prefix, n, df, indent) {
  obj(c("n", "yield", "oversight_min_per_hour", "gross_hours_month", "net_hours_month",
        "labor_multiplier"),
      c(num(n), metric(paste0(prefix, ".yield"), df, indent + 1),
        metric(paste0(prefix, ".oversight"), df, indent + 1),
        metric(paste0(prefix, ".gross"), df, indent + 1),
        metric(paste0(prefix, ".net"), df, indent + 1),
        metric(paste0(prefix, ".mult"), df, indent + 1)), indent)
}
participants <- vapply(seq_len(nrow(d)), function(i) {
  paste0("{\"id\": ", str(d$id[i]), ", \"cohort\": ", str(d$cohort[i]),
         ", \"n_tasks\": ", num(d$n_tasks[i]), ", \"used_tasks\": ", num(d$used_tasks[i]),
         ", \"used_pings\": ", num(d$used_pings[i]), ", \"oversight_min\": ", num(d$oversight_min[i]),
         ", \"gross_hours\": ", num(d$gross_hours[i]), "}")
}, character(1))
cohorts_json <- obj(names(pops), vapply(names(pops), function(h) {
  profile_json(h, ns[[h]], ns[[h]] - 1, 3)
}, character(1)), 2)
est_json <- function(v, indent) { # v = c(estimate, se, df)
  q <- qt(1 - (1 - level) / 2, v[3])
  obj(c("estimate", "se", "df", "ci_lower", "ci_upper"),
      c(num(v[1]), num(v[2]), num(v[3]), num(v[1] - q * v[2]), num(v[1] + q * v[2])), indent)
}
cat_json <- obj(c(names(pops), "overall"), vapply(c(names(pops), "overall"), function(h) {
  obj(cats, vapply(cats, function(k) est_json(cat_est[[paste0(h, ".", k)]], 4), ""), 3)
}, ""), 2)
seg_json <- obj(c("function", "tenure"), vapply(c("func", "tenure"), function(segvar) {
  keys <- sub(paste0("^", segvar, "\\."), "", grep(paste0("^", segvar, "\\."), names(seg_est), value = TRUE))
  obj(keys, vapply(keys, function(s) {
    x <- seg_est[[paste0(segvar, ".", s)]]
    df <- degf(des)
    m <- function(key) est_json(c(x$est[[key]], x$se[[key]], df), 5)
    obj(c("n", "population", "tasks", "pings", "yield", "oversight_min_per_hour", "gross_hours_month",
          "net_hours_month", "labor_multiplier"),
        c(num(x$n), num(x$population), num(x$tasks), num(x$pings), m("yield"), m("oversight"),
          m("gross"), m("net"), m("mult")), 4)
  }, ""), 3)
}, ""), 2)
deff_json <- obj(names(deff_out), vapply(names(deff_out), function(h) {
  obj(c("yield", "oversight"), vapply(c("yield", "oversight"), function(m) {
    v <- deff_out[[h]][[m]]
    obj(names(v), num(unname(v)), 4)
  }, ""), 3)
}, ""), 2)
extra <- vapply(seq_len(nrow(d)), function(i) {
  paste0("{\"id\": ", str(d$id[i]), ", \"function\": ", str(d$func[i]), ", \"tenure\": ", str(d$tenure[i]),
         ", \"minutes\": [", paste(num(unlist(d[i, cats])), collapse = ", "), "]}")
}, character(1))
out <- obj(
  c("generator", "r_version", "survey_version", "level", "populations", "participants", "expected",
    "participant_extra", "expected_extra"),
  c(str("scripts/survey_fixture.R"), str(R.version.string), str(as.character(packageVersion("survey"))),
    num(level), obj(names(pops), num(unname(pops)), 1),
    paste0("[\n    ", paste(participants, collapse = ",\n    "), "\n  ]"),
    obj(c("cohorts", "overall"),
        c(cohorts_json, profile_json("overall", nrow(d), nrow(d) - H, 2)), 1),
    paste0("[\n    ", paste(extra, collapse = ",\n    "), "\n  ]"),
    obj(c("oversight_by_category", "segments", "design_effects"), c(cat_json, seg_json, deff_json), 1)),
  0)
cat(out, "\n", sep = "")
