"""Step 3 of the flow: results into words, tables and figures, in Swedish and English.

``results`` (every estimate of a dataset, computed once) feeds ``export`` (tables.json,
tables.xlsx) and ``document`` (what the notebook displays), which builds on ``tables``,
``text`` (the prose filled in), ``figures``, ``glossary`` (labels), ``formatting``
(numbers per locale) and ``edition`` (the cover and the facts of one edition).
"""
