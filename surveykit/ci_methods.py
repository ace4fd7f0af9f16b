"""The names of the interval methods, as R's survey package names them (what ``--ci`` accepts): kept apart from
ci.py, which imports numpy, so that the command line can list them and fork a .sav's read-ahead before any
heavy import."""

METHODS = ("wald", "wald-t", "logit", "xlogit", "asin", "beta", "wilson")
PROPORTION_ONLY = ("logit", "xlogit", "asin", "beta", "wilson")
