"""The council lookup: code, name, region code and region name, for regional figures and area names.

The lookup says which councils make up England and each region (surveykit/fit.py, rule 5), so a council with
no region is refused; a lookup without region codes groups councils by region name. A blank council name is
the council's code."""

from __future__ import annotations

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.problems import visible
from surveykit.read.population import _council_codes, find, no_duplicates
from surveykit.read.tables import read_table

HEADERS = {   # in the order they are resolved; a header is used once
    "council": ("councilcode", "lacode", "cassrcode", "code", "council", "cassr", "la"),
    "council_name": ("councilname", "laname", "cassrname", "name", "localauthority", "council", "la"),
    "region_code": ("regioncode", "regcode", "gorcode", "regionid"),
    "region_name": ("regionname", "region", "gorname", "gor"),
    "ons_code": ("onscode", "onsareacode", "gsscode", "areacode", "ladcode"),
}
OPTIONAL = ("region_code", "ons_code")


def read_councils(path) -> pd.DataFrame:
    """Council lookup ``council, council_name, region_code, region_name, ons_code`` (CSV or .xlsx)."""
    table, rows = read_table(path)
    chosen: dict[str, str | None] = {}
    for name, texts in HEADERS.items():
        chosen[name] = find(table.columns, texts, taken=[h for h in chosen.values() if h])
    absent = [n for n, h in chosen.items() if h is None and n not in OPTIONAL]
    if absent:
        raise SurveyKitError(f"council lookup needs columns {', '.join(absent)} (found: "
                             f"{', '.join(map(str, table.columns))})", file=path)
    codes = _council_codes(table, chosen["council"], path, rows)
    no_duplicates(codes, path, rows, chosen["council"])
    region = table[chosen["region_name"]]
    if chosen["region_code"]:   # a region is its code; a blank code takes the region's name
        region_code = table[chosen["region_code"]].where(table[chosen["region_code"]].notna(), region)
    else:
        region_code = region
    no_region = region_code.isna().to_numpy()
    if no_region.any():
        first = int(np.flatnonzero(no_region)[0])
        raise SurveyKitError("blank region: every council needs one", file=path, row=int(rows[first]),
                             column=chosen["region_name"])
    if not len(table):
        raise SurveyKitError("the council lookup has a header but no councils", file=path)
    columns = {name: (table[h] if h else pd.Series(np.nan, index=table.index, dtype="str")) for name, h in chosen.items()}
    columns["region_code"] = region_code
    columns["region_name"] = region.where(region.notna(), region_code)
    columns["council_name"] = table[chosen["council_name"]].where(table[chosen["council_name"]].notna(), codes)
    out = pd.DataFrame(columns).astype("str").reset_index(drop=True)
    for name in ("council_name", "region_name"):     # names are shown: a control character is shown escaped
        out[name] = out[name].map(visible, na_action="ignore")
    out.attrs["source"] = str(path)
    return out
