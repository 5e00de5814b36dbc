"""Step 4 of the flow: the documents made.

``pipeline`` (one render job: results once, a notebook per language, the outputs swapped
into place), ``batch`` (``--by``: one report per part), ``render`` (papermill, then pandoc
and Typst, with the ``templates``) and ``fonts`` (the shipped typefaces).

The output formats are listed here, the one list that the command line, the pipeline and
the renderers read: here the command line reads it without importing the renderers'
machinery (papermill, Jupyter), which would slow every command.
"""

FORMATS = ("html", "pdf", "docx")
DEFAULT_FORMATS = ("html", "pdf")
