# Make the R `survey` fixtures that tests/test_design.py checks surveykit against.
#
# Run from the repository root:  Rscript tests/r/make_design_fixtures.R
# Writes tests/fixtures/r/design_data.csv (the random designs) and
# tests/fixtures/r/design_results.csv (R's estimates, SEs and interval bounds).
#
# Every design is stratified single-stage (ids = ~1) with strata = council x stratum.
# Each variable is estimated on the design restricted to the rows that answered it
# (NHS Digital's per-item rule): svydesign(ids=~1, strata=~cs, fpc=~N, data=rows_answering).
# Domains are estimated as svyby does: subset(design, domain) keeps the full stratum
# sample sizes, so out-of-domain rows count as zeros.

suppressMessages(library(survey))
set.seed(20240611)
out_dir <- file.path("tests", "fixtures", "r")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

# ---- random designs -------------------------------------------------------------------
make_design <- function(design_id, n_councils, lonely = FALSE) {
  rows <- list()
  for (ci in seq_len(n_councils)) {
    council <- sprintf("C%02d", ci)
    for (h in 1:4) {
      N <- sample(8:300, 1)
      m <- min(N, sample(5:30, 1))
      if (ci == 1 && h == 1) { N <- 6; m <- 6 }             # census stratum: n = N
      if (ci == 2 && h == 3) { m <- 2 }                     # two respondents
      if (lonely && ci == 1 && h == 2) { m <- 1 }           # lonely stratum
      sex <- sample(c("F", "M"), m, replace = TRUE, prob = c(0.4 + 0.1 * h, 0.6 - 0.1 * h))
      levs <- if (h <= 2) c("a", "b") else c("a", "b", "c")  # "c" empty in strata 1-2
      grp <- sample(levs, m, replace = TRUE)
      p <- 0.25 + 0.15 * h
      y_bin <- rbinom(m, 1, ifelse(sex == "F", p, p - 0.1))
      y_score <- round(rnorm(m, 15 + h + (sex == "F"), 3), 2)
      x_den <- sample(1:5, m, replace = TRUE)
      # item non-response, never among the first two rows of a stratum so each stratum
      # keeps at least two answers (the lonely stratum keeps its one)
      miss <- function(rate) c(rep(FALSE, min(m, 2)), runif(max(m - 2, 0)) < rate)
      y_bin[miss(0.12)] <- NA
      y_score[miss(0.10)] <- NA
      x_den[miss(0.06)] <- NA
      w <- round(N / m * runif(m, 0.7, 1.3), 3)
      rows[[length(rows) + 1]] <- data.frame(
        design = design_id, council = council, stratum = h, N = N, sex = sex, grp = grp,
        y_bin = y_bin, y_score = y_score, x_den = x_den, w = w)
    }
  }
  do.call(rbind, rows)
}

designs <- list(
  list(id = "fpc",         data = make_design("fpc", 4),         weights = FALSE, fpc = TRUE),
  list(id = "lonely",      data = make_design("lonely", 3, TRUE), weights = FALSE, fpc = TRUE),
  list(id = "weights",     data = make_design("weights", 3),     weights = TRUE,  fpc = FALSE),
  list(id = "weights_fpc", data = make_design("weights_fpc", 3), weights = TRUE,  fpc = TRUE)
)

# ---- helpers ----------------------------------------------------------------------------
build <- function(d, spec) {
  d$cs <- paste(d$council, d$stratum, sep = ".")
  if (spec$weights && spec$fpc) return(svydesign(ids = ~1, strata = ~cs, fpc = ~N, weights = ~w, data = d))
  if (spec$weights) return(svydesign(ids = ~1, strata = ~cs, weights = ~w, data = d))
  svydesign(ids = ~1, strata = ~cs, fpc = ~N, data = d)
}

# NHS Digital's breakdown variance: each council-stratum-group cell is its own stratum
# with population N_h * m_hg / m_h (only defined for population-weighted designs).
build_nhs <- function(d, by) {
  d$cs <- paste(d$council, d$stratum, sep = ".")
  d$cell <- do.call(paste, c(list(d$cs), d[by], sep = "|"))
  m_h <- ave(rep(1, nrow(d)), d$cs, FUN = sum)
  m_hg <- ave(rep(1, nrow(d)), d$cell, FUN = sum)
  d$N_cell <- d$N * m_hg / m_h
  svydesign(ids = ~1, strata = ~cell, fpc = ~N_cell, data = d)
}

domains_of <- function(d, by) {
  if (length(by) == 0) return(list(list(key = "", rows = rep(TRUE, nrow(d)))))
  key <- do.call(paste, c(d[by], sep = "|"))
  lapply(sort(unique(key)), function(k) list(key = k, rows = key == k))
}

results <- list()
add <- function(...) results[[length(results) + 1]] <<- data.frame(..., stringsAsFactors = FALSE)
num <- function(x) as.numeric(x)[1]

by_sets <- list(character(0), "council", "sex", c("council", "sex"), "grp")

for (spec in designs) {
  lonely_opts <- if (spec$id == "lonely") c("certainty", "remove", "adjust", "average") else "fail"
  for (lonely in lonely_opts) {
    options(survey.lonely.psu = lonely)
    for (by in by_sets) {
      by_name <- paste(by, collapse = "+")
      # --- proportions of y_bin: every svyciprop method R 4.1.1 has, plus confint(svymean)
      dv <- spec$data[!is.na(spec$data$y_bin), ]
      des <- build(dv, spec)
      for (dom in domains_of(dv, by)) {
        sub <- if (by_name == "") des else subset(des, dom$rows)
        m <- svymean(~y_bin, sub, deff = TRUE)
        ci <- confint(m)
        add(design = spec$id, lonely = lonely, stat = "proportion", variable = "y_bin",
            by = by_name, domain = dom$key, ci = "wald", variance = "domain",
            estimate = num(coef(m)), se = num(SE(m)), ci_lower = ci[1], ci_upper = ci[2],
            deff = num(deff(m)), df = degf(sub), n = sum(dom$rows))
        for (meth in c("mean", "logit", "xlogit", "asin", "beta")) {
          r <- suppressWarnings(svyciprop(~y_bin, sub, method = meth))
          ci <- as.numeric(confint(r))
          add(design = spec$id, lonely = lonely, stat = "proportion", variable = "y_bin",
              by = by_name, domain = dom$key,
              ci = switch(meth, mean = "wald-t", logit = "logit-irls", meth), variance = "domain",
              estimate = num(coef(m)), se = num(SE(m)), ci_lower = ci[1], ci_upper = ci[2],
              deff = num(deff(m)), df = degf(sub), n = sum(dom$rows))
        }
        # svyciprop's "logit" is the Wald interval of svyglm(y ~ 1, quasibinomial), whose IRLS
        # stops at glm's default epsilon = 1e-8 (bounds good to ~2e-9). The same computation with
        # the fit converged to machine precision is the exact value surveykit gives.
        g <- svyglm(y_bin ~ 1, sub, family = quasibinomial,
                    control = glm.control(epsilon = 1e-15, maxit = 100))
        ci <- as.numeric(survey:::expit(confint(g, 1, level = 0.95, method = "Wald", ddf = degf(sub))))
        add(design = spec$id, lonely = lonely, stat = "proportion", variable = "y_bin",
            by = by_name, domain = dom$key, ci = "logit", variance = "domain",
            estimate = num(coef(m)), se = num(SE(m)), ci_lower = ci[1], ci_upper = ci[2],
            deff = num(deff(m)), df = degf(sub), n = sum(dom$rows))
      }
      # NHS Digital breakdown variance, population-weighted designs only
      if (spec$fpc && !spec$weights && length(by) > 0) {
        old <- options(survey.lonely.psu = "certainty")  # one-respondent cells add nothing
        nhs <- build_nhs(dv, by)
        for (dom in domains_of(dv, by)) {
          m <- svymean(~y_bin, subset(nhs, dom$rows))
          ci <- confint(m)
          add(design = spec$id, lonely = lonely, stat = "proportion", variable = "y_bin",
              by = by_name, domain = dom$key, ci = "wald", variance = "nhs",
              estimate = num(coef(m)), se = num(SE(m)), ci_lower = ci[1], ci_upper = ci[2],
              deff = NA, df = NA, n = sum(dom$rows))
        }
        options(old)
      }
      # --- mean and total of y_score
      dv <- spec$data[!is.na(spec$data$y_score), ]
      des <- build(dv, spec)
      for (dom in domains_of(dv, by)) {
        sub <- if (by_name == "") des else subset(des, dom$rows)
        m <- svymean(~y_score, sub, deff = TRUE)
        ci <- confint(m)
        add(design = spec$id, lonely = lonely, stat = "mean", variable = "y_score",
            by = by_name, domain = dom$key, ci = "wald", variance = "domain",
            estimate = num(coef(m)), se = num(SE(m)), ci_lower = ci[1], ci_upper = ci[2],
            deff = num(deff(m)), df = degf(sub), n = sum(dom$rows))
        ci <- confint(m, df = degf(sub))
        add(design = spec$id, lonely = lonely, stat = "mean", variable = "y_score",
            by = by_name, domain = dom$key, ci = "wald-t", variance = "domain",
            estimate = num(coef(m)), se = num(SE(m)), ci_lower = ci[1], ci_upper = ci[2],
            deff = num(deff(m)), df = degf(sub), n = sum(dom$rows))
        t <- svytotal(~y_score, sub, deff = TRUE)
        ci <- confint(t)
        add(design = spec$id, lonely = lonely, stat = "total", variable = "y_score",
            by = by_name, domain = dom$key, ci = "wald", variance = "domain",
            estimate = num(coef(t)), se = num(SE(t)), ci_lower = ci[1], ci_upper = ci[2],
            deff = num(deff(t)), df = degf(sub), n = sum(dom$rows))
      }
      # --- ratio y_score / x_den on rows answering both
      dv <- spec$data[!is.na(spec$data$y_score) & !is.na(spec$data$x_den), ]
      des <- build(dv, spec)
      for (dom in domains_of(dv, by)) {
        sub <- if (by_name == "") des else subset(des, dom$rows)
        r <- svyratio(~y_score, ~x_den, sub, deff = TRUE)
        ci <- confint(r)
        add(design = spec$id, lonely = lonely, stat = "ratio", variable = "y_score/x_den",
            by = by_name, domain = dom$key, ci = "wald", variance = "domain",
            estimate = num(coef(r)), se = num(SE(r)), ci_lower = ci[1], ci_upper = ci[2],
            deff = num(attr(r, "deff")), df = degf(sub), n = sum(dom$rows))
      }
    }
  }
}

data_all <- do.call(rbind, lapply(designs, function(s) s$data))
res <- do.call(rbind, results)
write.csv(data_all, file.path(out_dir, "design_data.csv"), row.names = FALSE, na = "")
num_cols <- c("estimate", "se", "ci_lower", "ci_upper", "deff")
for (col in num_cols) res[[col]] <- sprintf("%.17g", res[[col]])
write.csv(res, file.path(out_dir, "design_results.csv"), row.names = FALSE, na = "")
cat("wrote", nrow(data_all), "data rows and", nrow(res), "result rows\n")
