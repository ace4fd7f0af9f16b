# Make the R `survey` 4.5 fixtures for lonely strata under options(survey.lonely.psu = "adjust")
# that tests/test_design.py checks surveykit against.
#
# Run from the repository root:  Rscript tests/r/make_lonely_fixtures.R
# Writes tests/fixtures/r/lonely_data.csv (the new design lonely_w; the design "lonely" is read from
# design_data.csv) and tests/fixtures/r/lonely_results.csv (R's estimates, SEs, intervals, deff).
# Needs R's survey package at version 4.1.1 (what is installed here).
#
# Which code computes what. survey 4.4-1 changed how "adjust" treats a stratum with one PSU: it is
# centred on the mean PSU total of the strata in the design (or domain) instead of on 0, which
# changes totals (for means and ratios the linearised values sum to 0, so the centre is 0 there).
# survey 4.5 cannot be installed here (no CRAN), so this script runs survey 4.1.1 with that one
# change made to it:
#   - from survey 4.1.1, unchanged: svydesign, subset, svymean, svytotal, svyratio, svyrecvar,
#     multistage, and the bodies of onestage and onestrat (called below as onestage_411 and
#     onestrat_411 for every stratum);
#   - from survey 4.5 (R/multistage.R of CRAN survey 4.5; the change is in 4.4-1 and later), as
#     behaviour, not as copied source: onestage() computes
#         recentering = colSums(x) / sum over the strata present of their number of PSUs (nPSU)
#     when lonely.psu == "adjust", and onestrat() centres a stratum whose single PSU is lonely
#     (nPSU == 1, survey.adjust.domain.lonely = FALSE as by default) on `recentering` where 4.1.1
#     did not centre it at all. The two wrappers below, put in place with assignInNamespace, do
#     exactly that around 4.1.1's own onestage and onestrat.
# survey 4.5 runs the C++ arma_multistage by default (options(survey.use_rcpp = TRUE)); its
# arma_onestage centres singleton strata on the same quantity, Y_means = colSums(Y) /
# n_samp_units_all_strata, so the R and C++ routes agree on these designs.
# Strata are factors: survey 4.4-3 notes that "adjust" needs factor or numeric strata.

suppressMessages(library(survey))
stopifnot(packageVersion("survey") == "4.1.1")
set.seed(20250207)
out_dir <- file.path("tests", "fixtures", "r")

# ---- survey 4.1.1 with the 4.4-1 "adjust" centring --------------------------------------------
ns <- asNamespace("survey")
onestage_411 <- get("onestage", envir = ns)
onestrat_411 <- get("onestrat", envir = ns)
recentering <- new.env()

onestage_45 <- function(x, strata, clusters, nPSU, fpc, lonely.psu = getOption("survey.lonely.psu"),
                        stage = 0, cal) {
  recentering$value <- NULL
  if (!is.null(lonely.psu) && lonely.psu == "adjust" && NROW(x) > 0) {
    recentering$value <- colSums(x) / sum(nPSU[!duplicated(strata)])
  }
  on.exit(recentering$value <- NULL)
  onestage_411(x, strata, clusters, nPSU, fpc, lonely.psu = lonely.psu, stage = stage, cal = cal)
}

onestrat_45 <- function(x, cluster, nPSU, fpc, lonely.psu, stratum = NULL, stage = 1, cal = cal) {
  centre <- recentering$value
  if (!is.null(centre) && nPSU == 1 && !getOption("survey.adjust.domain.lonely")) {
    # the lonely PSU's total, less the centre; 4.1.1 then squares it without centring
    first <- !duplicated(cluster)
    x <- sweep(rowsum(x, cluster, reorder = FALSE), 2, centre)
    cluster <- cluster[first]
    fpc <- fpc[first]
  }
  onestrat_411(x, cluster, nPSU, fpc, lonely.psu = lonely.psu, stratum = stratum, stage = stage,
               cal = cal)
}

assignInNamespace("onestage", onestage_45, ns = "survey")
assignInNamespace("onestrat", onestrat_45, ns = "survey")

# ---- designs ----------------------------------------------------------------------------------
# "lonely": the lonely design of make_design_fixtures.R (fpc, council C01 stratum 2 has one
# respondent); "lonely_w": explicit weights, no fpc, two lonely strata (C01/2 and C03/4), one of
# them a man, so domains by sex hold a lonely stratum each.
old <- read.csv(file.path(out_dir, "design_data.csv"), stringsAsFactors = FALSE)
lonely <- old[old$design == "lonely", ]

make_weighted <- function() {
  rows <- list()
  for (ci in 1:3) {
    for (h in 1:4) {
      m <- sample(4:12, 1)
      if ((ci == 1 && h == 2) || (ci == 3 && h == 4)) m <- 1
      sex <- sample(c("F", "M"), m, replace = TRUE)
      if (ci == 3 && h == 4) sex <- "M"
      if (ci == 1 && h == 2) sex <- "F"
      rows[[length(rows) + 1]] <- data.frame(
        design = "lonely_w", council = sprintf("C%02d", ci), stratum = h, N = NA, sex = sex,
        grp = sample(c("a", "b"), m, replace = TRUE), y_bin = rbinom(m, 1, 0.3 + 0.1 * h),
        y_score = round(rnorm(m, 14 + h, 3), 2), x_den = sample(1:5, m, replace = TRUE),
        w = round(runif(m, 5, 40), 3))
    }
  }
  do.call(rbind, rows)
}
weighted <- make_weighted()
data_all <- rbind(lonely, weighted)

build <- function(d) {
  d$cs <- factor(paste(d$council, d$stratum, sep = "."))
  if (d$design[1] == "lonely") svydesign(ids = ~1, strata = ~cs, fpc = ~N, data = d)
  else svydesign(ids = ~1, strata = ~cs, weights = ~w, data = d)
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
options(survey.lonely.psu = "adjust")

for (id in c("lonely", "lonely_w")) {
  d <- data_all[data_all$design == id, ]
  for (by in by_sets) {
    by_name <- paste(by, collapse = "+")
    for (stat in c("total", "mean", "proportion", "ratio")) {
      variable <- switch(stat, proportion = "y_bin", ratio = "y_score/x_den", "y_score")
      keep <- switch(stat, proportion = !is.na(d$y_bin), ratio = !is.na(d$y_score) & !is.na(d$x_den),
                     !is.na(d$y_score))
      dv <- d[keep, ]
      des <- build(dv)
      for (dom in domains_of(dv, by)) {
        sub <- if (by_name == "") des else subset(des, dom$rows)
        r <- switch(stat,
                    total = svytotal(~y_score, sub, deff = TRUE),
                    mean = svymean(~y_score, sub, deff = TRUE),
                    proportion = svymean(~y_bin, sub, deff = TRUE),
                    ratio = svyratio(~y_score, ~x_den, sub, deff = TRUE))
        deff <- if (stat == "ratio") num(attr(r, "deff")) else num(deff(r))
        ci <- confint(r)
        add(design = id, lonely = "adjust", stat = stat, variable = variable, by = by_name,
            domain = dom$key, ci = "wald", variance = "domain", estimate = num(coef(r)),
            se = num(SE(r)), ci_lower = ci[1], ci_upper = ci[2], deff = deff, df = degf(sub),
            n = sum(dom$rows))
      }
    }
  }
}

res <- do.call(rbind, results)
for (col in c("estimate", "se", "ci_lower", "ci_upper", "deff")) res[[col]] <- sprintf("%.17g", res[[col]])
write.csv(weighted, file.path(out_dir, "lonely_data.csv"), row.names = FALSE, na = "")
write.csv(res, file.path(out_dir, "lonely_results.csv"), row.names = FALSE, na = "")
cat("survey", format(packageVersion("survey")), "with the 4.4-1 adjust centring:",
    nrow(weighted), "new data rows,", nrow(res), "result rows\n")
