"""Step 2 of the flow: the estimators, each on a cohort, each returning plain data.

``descriptive`` (Tabell 2–3, B1–B2), ``survival`` (Kaplan–Meier, log-rank; Tabell 4–6),
``cox`` (Cox models; B3–B6, Tabell 7), ``itt`` (the randomised comparison by arm),
``timevarying`` (meeting and plan as time-varying covariates) and ``disclosure`` (the
small-count protection every published figure passes through).
"""
