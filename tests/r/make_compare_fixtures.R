# Fixtures for tests/test_compare.py: council-versus-England and council-versus-region differences
# and their standard errors, computed by R `survey` (4.1.1) on a seeded synthetic stratified sample.
#
# Run from the repository root:  Rscript tests/r/make_compare_fixtures.R
# Writes tests/fixtures/r_compare/{data,councils,differences}.csv.
#
# The design is NHS Digital's: every council x stratum is a stratum with its eligible population as
# the finite population correction; England (and a region) pools all its council-strata.
# Each difference's SE is computed two independent ways and the script stops if they disagree:
#   (a) svyby(~v, ~council, svymean, covmat=TRUE), then svycontrast with the comparator written as the
#       population-weighted combination of its councils (weights N_c / N_area) minus the council;
#   (b) svytotal of (v * [council], [council], v, 1) over the whole design, then the non-linear
#       svycontrast  Y_c / N_c - Y_area / N_area  (no assumption about how the comparator is formed).
# Both are also checked against svymean over the comparator's own rows.

suppressPackageStartupMessages(library(survey))

out_dir <- file.path("tests", "fixtures", "r_compare")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

set.seed(20240517)
councils <- data.frame(
  council = sprintf("C%02d", 1:6),
  council_name = paste("Council", LETTERS[1:6]),
  region_code = rep(c("R1", "R2"), each = 3),
  region_name = rep(c("Region One", "Region Two"), each = 3),
  stringsAsFactors = FALSE
)

rows <- list()
for (i in seq_len(nrow(councils))) {
  council_effect <- rnorm(1, 0, 0.6)
  for (h in 1:4) {
    N <- sample(40:1500, 1)
    m <- min(N, sample(6:45, 1))          # small strata make the fpc matter
    p <- plogis(0.3 + council_effect + 0.25 * h)
    rows[[length(rows) + 1]] <- data.frame(
      council = councils$council[i],
      region_code = councils$region_code[i],
      stratum = h,
      N = N,
      y = rbinom(m, 1, p),                # a 0/1 indicator, like 1B
      score = rbinom(m, 24, p * 0.85)     # a 0-24 score, like 1A
    )
  }
}
d <- do.call(rbind, rows)
d$council_stratum <- paste(d$council, d$stratum, sep = "_")

design <- svydesign(ids = ~1, strata = ~council_stratum, fpc = ~N, data = d)
stratum_pop <- unique(d[, c("council", "stratum", "N")])
N_c <- tapply(stratum_pop$N, stratum_pop$council, sum)[councils$council]
region_of <- setNames(councils$region_code, councils$council)

results <- list()
for (v in c("y", "score")) {
  by_council <- svyby(as.formula(paste0("~", v)), ~council, design, svymean, covmat = TRUE)
  est_c <- coef(by_council)[councils$council]
  se_c <- SE(by_council)[match(councils$council, names(coef(by_council)))]

  for (level in c("england", "region")) {
    for (i in seq_len(nrow(councils))) {
      cc <- councils$council[i]
      members <- if (level == "england") councils$council else councils$council[region_of == region_of[cc]]
      in_area <- councils$council %in% members
      w <- ifelse(in_area, N_c / sum(N_c[in_area]), 0)
      indicator <- as.numeric(councils$council == cc)

      # (a) contrast on the council vector
      con <- svycontrast(by_council, list(difference = indicator - w))
      diff_a <- unname(coef(con))
      se_a <- unname(SE(con))

      # (b) non-linear contrast of design-wide totals
      d2 <- update(design,
                   yc = get(v) * (council == cc), nc = as.numeric(council == cc),
                   ya = get(v) * (council %in% members), na = as.numeric(council %in% members))
      totals <- svytotal(~yc + nc + ya + na, d2)
      con_b <- svycontrast(totals, quote(yc / nc - ya / na))
      diff_b <- unname(coef(con_b))
      se_b <- unname(SE(con_b))

      # the comparator on its own: svymean over its rows (a subpopulation of whole strata)
      area <- svymean(as.formula(paste0("~", v)), subset(design, council %in% members))

      stopifnot(abs(diff_a - diff_b) < 1e-12, abs(se_a / se_b - 1) < 1e-10,
                abs(sum(w * est_c) - coef(area)) < 1e-12)

      results[[length(results) + 1]] <- data.frame(
        variable = v, comparator_level = level, council = cc,
        comparator_code = if (level == "england") "E92000001" else unname(region_of[cc]),
        council_estimate = unname(est_c[i]), council_se = unname(se_c[i]),
        comparator_estimate = unname(coef(area)), comparator_se = unname(SE(area)),
        difference = diff_a, se_difference = se_a, se_difference_totals = se_b
      )
    }
  }
}

write.csv(d[, c("council", "region_code", "stratum", "N", "y", "score")],
          file.path(out_dir, "data.csv"), row.names = FALSE)
write.csv(councils, file.path(out_dir, "councils.csv"), row.names = FALSE)
out <- do.call(rbind, results)
numeric_columns <- vapply(out, is.numeric, logical(1))
out[numeric_columns] <- lapply(out[numeric_columns], function(x) sprintf("%.17g", x))  # full precision
write.csv(out, file.path(out_dir, "differences.csv"), row.names = FALSE, quote = FALSE)
cat("wrote", nrow(d), "rows of data and", nrow(out), "differences to", out_dir, "\n")
