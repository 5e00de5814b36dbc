"""The report's typefaces, installed from PyPI so that every machine sets the same type.

Source Serif Pro (running text) and Source Sans Pro (headings, tables, running heads and
the figures' labels) come from the packages font-source-serif-pro and
font-source-sans-pro, under the SIL Open Font License that ships beside the files. The
PDF is set with these files and Typst's own embedded fonts only, never the system's, so
a heading cannot come out in DejaVu Sans on one machine and Liberation Sans on the next.
The one embedded font the report uses is DejaVu Sans Mono, for code (the provenance's
commit and checksums; set in templates/report.typ); it comes inside the typst package.
The HTML embeds Source Sans Pro (``render._with_font_faces``), the family the figures' text
is set in now that their SVG text is text; its running text names Source Serif Pro
first and falls back to the reader's serif.
"""

from __future__ import annotations

from pathlib import Path

import font_source_sans_pro
import font_source_serif_pro

SERIF = "Source Serif Pro"
SANS = "Source Sans Pro"
FOLDERS = {
    SERIF: Path(font_source_serif_pro.font_directory),
    SANS: Path(font_source_sans_pro.font_directory),
}
# The styles the report sets, as the files name them: regular, italic, bold, bold italic.
STYLES = ("Regular", "It", "Bold", "BoldIt")


def font_files(family: str) -> list[Path]:
    """The TrueType files of ``family`` (SERIF or SANS) in the styles the report sets.

    TrueType only: each package holds every style twice, as OTF and as TTF, and Typst,
    given a folder with both, sets each style from whichever file its directory listing
    yields first, which differs from one installation to the next.
    """
    prefix = family.replace(" ", "")
    return [FOLDERS[family] / f"{prefix}-{style}.ttf" for style in STYLES]
