"""Write rehabstats/engine/templates/reference.docx: the Word styles of the report.

It is pandoc's own reference.docx (from the bundled pandoc, so every style pandoc's docx
writer uses is there) in the look of the PDF: A4 with its margins, Source Serif Pro for
the text and Source Sans Pro for headings, captions and tables (the theme's body and
heading fonts), black bold headings, tables ruled above, below and under the header row,
and the two styles the report's Lua filter gives its divs: "Note" (the small lines under
a table or diagram) and "Diagram Title". The fonts are named, not embedded: a reader
without them sees Word's fallback. An agency's own reference.docx (made from this one in
Word: change the styles, keep their names) replaces it.

Run ``.venv/bin/python tools/reference_docx.py`` after pandoc is upgraded and commit the
file; tests/test_docx.py fails while the committed file is not what this script writes.
The file is the same on every run: the zip's dates are fixed.
"""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from rehabstats.engine.fonts import SANS, SERIF
from rehabstats.engine.render import REFERENCE_DOCX, bundled_pandoc

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ET.register_namespace("w", W)
ET.register_namespace("r", "http://schemas.openxmlformats.org/officeDocument/2006/relationships")
# A fixed date for every member of the zip, so that the same styles give the same bytes.
ZIP_DATE = (2010, 12, 15, 0, 0, 0)
# A4 with the PDF's margins (report.typ: 2.5 cm at the sides and bottom, 3 cm at the top),
# in twentieths of a point.
PAGE = (
    '<w:pgSz w:w="11906" w:h="16838"/>'
    '<w:pgMar w:top="1701" w:right="1417" w:bottom="1417" w:left="1417"'
    ' w:header="709" w:footer="709" w:gutter="0"/>'
)
# Sizes in half-points: the PDF's text 10.5 pt, tables 9 pt, notes 8.5 pt.
BODY, TABLE, NOTE = 21, 18, 17
HEADINGS = {"Heading1": 30, "Heading2": 24, "Heading3": 21}
RULE = {"val": "single", "sz": "4", "space": "0", "color": "000000"}
# The order Word requires of the children of these elements (ECMA-376 part 1, 17.7 and
# 17.3), as far as this script adds any: Word refuses a file whose order differs.
ORDER = {
    "style": "name basedOn next link uiPriority semiHidden unhideWhenUsed qFormat rsid"
    " pPr rPr tblPr tblStylePr",
    "rPr": "rStyle rFonts b bCs i iCs color spacing sz szCs lang",
    "pPr": "pStyle keepNext keepLines numPr spacing ind contextualSpacing jc outlineLvl",
    "tblPr": "tblStyle tblW jc tblInd tblBorders shd tblLayout tblCellMar tblLook",
    "tblBorders": "top left bottom right insideH insideV",
}


def w(tag: str) -> str:
    """The qualified name of a WordprocessingML element or attribute, e.g. ``w:sz``."""
    return f"{{{W}}}{tag.removeprefix('w:')}"


def child(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    """``parent``'s one ``tag`` element, with ``attributes`` set.

    A missing one is made, in its place in :data:`ORDER`: before the first child that
    the order puts after it.
    """
    element = parent.find(w(tag))
    if element is None:
        order = ORDER[parent.tag.split("}")[1]].split()
        later = order[order.index(tag) + 1 :]
        children = list(parent)
        place = next(
            (i for i, item in enumerate(children) if item.tag.split("}")[1] in later),
            len(children),
        )
        element = ET.Element(w(tag))
        parent.insert(place, element)
    for key, value in attributes.items():
        element.set(w(key), value)
    return element


def run_properties(style: ET.Element, size: int | None = None, **flags: bool) -> None:
    """Set a style's size, and bold or italic on or off (``b=True``, ``i=False``)."""
    rpr = child(style, "rPr")
    for flag, on in flags.items():
        child(rpr, flag, val="1" if on else "0")
    if size is not None:
        child(rpr, "sz", val=str(size))
        child(rpr, "szCs", val=str(size))


def sans(style: ET.Element) -> None:
    """Set a style in the theme's heading font (Source Sans Pro)."""
    child(child(style, "rPr"), "rFonts", asciiTheme="majorHAnsi", hAnsiTheme="majorHAnsi")


def black(style: ET.Element) -> None:
    """Drop a style's colour (pandoc's headings are blue), so its text is black."""
    rpr = child(style, "rPr")
    for colour in rpr.findall(w("color")):
        rpr.remove(colour)


def paragraph_style(root: ET.Element, style_id: str, name: str, based_on: str) -> ET.Element:
    """A new custom paragraph style, e.g. the Lua filter's "Note"."""
    attributes = {"type": "paragraph", "customStyle": "1", "styleId": style_id}
    style = ET.SubElement(root, w("style"), {w(key): value for key, value in attributes.items()})
    child(style, "name", val=name)
    child(style, "basedOn", val=based_on)
    child(style, "qFormat")
    return style


def restyled(styles: bytes) -> bytes:
    """styles.xml in the report's look (see the module doc)."""
    root = ET.fromstring(styles)
    by_id = {style.get(w("styleId")): style for style in root.iter(w("style"))}
    defaults = root.find(f"{w('docDefaults')}/{w('rPrDefault')}/{w('rPr')}")
    child(defaults, "sz", val=str(BODY))
    child(defaults, "szCs", val=str(BODY))
    for style_id, size in HEADINGS.items():
        style = by_id[style_id]
        sans(style)
        black(style)
        run_properties(style, size, b=True)
    for style_id in ("Title", "TOCHeading"):
        sans(by_id[style_id])
        black(by_id[style_id])
        run_properties(by_id[style_id], b=True)
    child(child(by_id["Title"], "pPr"), "jc", val="left")
    for style_id in ("Subtitle", "Author", "Date"):
        run_properties(by_id[style_id], b=False)
    run_properties(by_id["Caption"], i=False)
    caption = by_id["TableCaption"]
    sans(caption)
    run_properties(caption, b=True)
    child(child(caption, "pPr"), "spacing", before="320", after="120")
    table = by_id["Table"]
    borders = child(child(table, "tblPr"), "tblBorders")
    child(borders, "top", **RULE)
    child(borders, "bottom", **RULE)
    sans(table)
    run_properties(table, TABLE)
    note = paragraph_style(root, "Note", "Note", "Normal")
    run_properties(note, NOTE)
    child(child(note, "pPr"), "spacing", before="0", after="40")
    title = paragraph_style(root, "DiagramTitle", "Diagram Title", "TableCaption")
    child(child(title, "pPr"), "keepNext")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def themed(theme: bytes) -> bytes:
    """theme1.xml with Source Sans Pro for headings and Source Serif Pro for the text."""
    text = theme.decode("utf-8")
    for scheme, family in (("majorFont", SANS), ("minorFont", SERIF)):
        pattern = rf'(<a:{scheme}>\s*<a:latin typeface=")[^"]*"[^/]*/>'
        text, count = re.subn(pattern, rf'\g<1>{family}"/>', text)
        if count != 1:
            raise ValueError(f"theme1.xml: no {scheme} with a latin typeface")
    return text.encode("utf-8")


def on_a4(document: bytes) -> bytes:
    """document.xml whose section (which pandoc's output takes) is A4 with margins.

    The page size and margins close the section, after its footnote properties, as the
    schema orders them.
    """
    text = document.decode("utf-8")
    if text.count("</w:sectPr>") != 1:
        raise ValueError("document.xml: expected one <w:sectPr>")
    return text.replace("</w:sectPr>", f"{PAGE}</w:sectPr>").encode("utf-8")


EDITS = {"word/styles.xml": restyled, "word/theme/theme1.xml": themed, "word/document.xml": on_a4}


def reference_docx() -> bytes:
    """The report's reference.docx: pandoc's default with :data:`EDITS` applied."""
    default = subprocess.run(
        [bundled_pandoc(), "--print-default-data-file", "reference.docx"],
        capture_output=True,
        check=True,
    ).stdout
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(default)) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            data = source.read(member)
            edit = EDITS.get(member.filename)
            info = zipfile.ZipInfo(member.filename, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, edit(data) if edit else data)
    return output.getvalue()


def main() -> None:
    """Write :data:`~rehabstats.engine.render.REFERENCE_DOCX`."""
    Path(REFERENCE_DOCX).write_bytes(reference_docx())
    print(f"wrote {REFERENCE_DOCX}")


if __name__ == "__main__":
    main()
