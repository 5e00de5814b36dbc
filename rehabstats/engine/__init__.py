"""Step 4 of the flow: the documents made.

``pipeline`` (one render job: results once, a notebook per language, the outputs swapped
into place), ``batch`` (``--by``: one report per part), ``render`` (papermill, then pandoc
and Typst, with the ``templates``) and ``fonts`` (the shipped typefaces).
"""
