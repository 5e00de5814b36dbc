-- report.lua: maps the report's markdown conventions onto the output formats.
-- In HTML the div classes are styled by report.css; in Typst they become calls
-- of the same-named functions defined in report.typ. Two filters run in turn: the
-- first keeps markup that could run out of the document, the second maps the
-- conventions onto HTML, Typst and Word (docx: the divs take the paragraph styles
-- of the same names in templates/reference.docx).

local TYPST = FORMAT:match("typst") ~= nil
local DOCX = FORMAT:match("docx") ~= nil

-- Div classes that become a Word paragraph style of reference.docx.
local DOCX_STYLES = { ["note"] = "Note", ["diagram-title"] = "Diagram Title" }
-- A page break in Word: an empty paragraph holding a break of type page.
local DOCX_PAGEBREAK = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'

-- Div classes that become a call of the same-named Typst function.
local WRAPPERS = { ["note"] = true, ["diagram-title"] = true }

-- The link schemes a report may use; any other (javascript:, data:) is not a link.
local SAFE_SCHEMES = { ["http"] = true, ["https"] = true, ["mailto"] = true }

--- Whether raw markup is HTML, which a browser would run.
local function is_html(raw)
  return raw.format:lower():match("^html") ~= nil
end

--- Whether raw HTML is nothing but one comment, such as the notebook's opening note.
local function is_comment(text)
  local inner = text:match("^<!%-%-(.*)%-%->$")
  return inner ~= nil and not inner:find("-->", 1, true)
end

--- Raw markup as the text it is written with; an HTML comment is dropped.
local function as_text(raw)
  if is_html(raw) and is_comment(raw.text) then
    return {}
  end
  return pandoc.Inlines(raw.text)
end

--- An element without event-handler attributes (onload, onclick, ...).
local function without_handlers(el)
  local handlers = {}
  for key, _ in pairs(el.attributes) do
    if key:lower():match("^on") then
      table.insert(handlers, key)
    end
  end
  if #handlers == 0 then
    return nil
  end
  for _, key in ipairs(handlers) do
    el.attributes[key] = nil
  end
  return el
end

--- The net under the escaping of every user string (formatting.markdown_literal):
--- should markup reach the document all the same, nothing of it runs. Raw HTML, and
--- raw Typst or OpenXML within a line, print as the text they are written with (a
--- block of raw Typst or OpenXML is a notebook author's own); a link to a scheme
--- other than http(s) or mailto is only its text; event-handler attributes are dropped.
local inert = {
  RawInline = function(raw)
    local format = raw.format:lower()
    if is_html(raw) or format == "typst" or format == "openxml" then
      return as_text(raw)
    end
  end,
  RawBlock = function(raw)
    if not is_html(raw) then
      return nil
    end
    local text = as_text(raw)
    return #text == 0 and {} or pandoc.Para(text)
  end,
  Link = function(link)
    local scheme = link.target:match("^%s*(%a[%w+.-]*):")
    if scheme ~= nil and not SAFE_SCHEMES[scheme:lower()] then
      return link.content
    end
    return without_handlers(link)
  end,
}
for _, name in ipairs({ "Div", "Span", "Image", "Header", "Code", "CodeBlock", "Table" }) do
  inert[name] = without_handlers
end

--- Wrap blocks in a call of a Typst function taking a content argument.
local function wrap(name, blocks)
  local result = pandoc.Blocks({ pandoc.RawBlock("typst", "#" .. name .. "[") })
  result:extend(blocks)
  result:insert(pandoc.RawBlock("typst", "]"))
  return result
end

--- Page breaks, table/diagram notes and diagram titles in Word: a break, or a style.
local function docx_div(div)
  if div.classes:includes("pagebreak") then
    return pandoc.RawBlock("openxml", DOCX_PAGEBREAK)
  end
  for _, class in ipairs(div.classes) do
    if DOCX_STYLES[class] then
      div.attributes["custom-style"] = DOCX_STYLES[class]
      return div
    end
  end
end

--- Page breaks, table/diagram notes and diagram titles (Typst and Word).
local function Div(div)
  if DOCX then
    return docx_div(div)
  end
  if not TYPST then
    return nil
  end
  if div.classes:includes("pagebreak") then
    return pandoc.RawBlock("typst", "#pagebreak(weak: true)")
  end
  for _, class in ipairs(div.classes) do
    if WRAPPERS[class] then
      return wrap(class, div.content)
    end
  end
end

--- Drop column widths pandoc guessed from the dashes of pipe tables, so the
--- browser or Typst sizes columns by content and long labels wrap. In Typst the
--- caption becomes a bold block kept above the table instead of a numbered figure.
local function Table(tbl)
  for i, spec in ipairs(tbl.colspecs) do
    tbl.colspecs[i] = { spec[1], nil }
  end
  if not TYPST then
    return tbl
  end
  local caption = tbl.caption.long
  tbl.caption.long = {}
  tbl.classes:insert("typst:no-figure")
  if #caption == 0 then
    return tbl
  end
  local result = wrap("table-caption", caption)
  result:insert(tbl)
  return result
end

--- Text as written in Typst too. Pandoc's Typst writer escapes Typst's markup but
--- leaves three of its shorthands in plain text: "..." (an ellipsis), "-?" (a soft
--- hyphen) and a hyphen before a digit (a minus sign). The character that completes
--- each is written escaped, so that "a...b", "x-?" and "-5" print as they are.
local function Str(str)
  if not TYPST then
    return nil
  end
  local text, pieces, start, dots = str.text, pandoc.Inlines({}), 1, 0
  for i = 1, #text do
    local char = text:sub(i, i)
    local escape = (char == "." and dots == 2)
      or (char == "-" and text:sub(i + 1, i + 1):match("[%d?]") ~= nil)
    if escape then
      if i > start then
        pieces:insert(pandoc.Str(text:sub(start, i - 1)))
      end
      pieces:insert(pandoc.RawInline("typst", "\\" .. char))
      start = i + 1
    end
    dots = (char == "." and not escape) and dots + 1 or 0
  end
  if start == 1 then
    return nil
  end
  if start <= #text then
    pieces:insert(pandoc.Str(text:sub(start)))
  end
  return pieces
end

--- Text as a Typst string literal: backslashes and double quotes escaped.
local function typst_string(text)
  local escaped = text:gsub("\\", "\\\\"):gsub('"', '\\"')
  return '"' .. escaped .. '"'
end

--- Images keep their alt text in Typst: pandoc's Typst writer drops it, and PDF/UA-1
--- refuses an image without one. The image stays an Image (so --extract-media still
--- copies and rewrites it), wrapped in a content block that sets its `alt`.
local function Image(img)
  if not TYPST then
    return nil
  end
  local alt = pandoc.utils.stringify(img.caption)
  if alt == "" then
    return nil -- Typst fails with "missing alt text", naming the image
  end
  return {
    pandoc.RawInline("typst", "#[#set image(alt: " .. typst_string(alt) .. ");"),
    img,
    pandoc.RawInline("typst", "]"),
  }
end

--- Inlines whose first word cannot open a block where Typst reads a line start.
--- A leading "-", "+", "=", "/" or "1." would make a list, heading or term; report.typ
--- writes each metadata value at the start of a content block, where pandoc's Typst
--- writer does not see a line start and leaves them as they are.
local function start_as_text(inlines)
  local first = inlines[1]
  if first == nil or first.t ~= "Str" then
    return inlines
  end
  local number, marker, rest = first.text:match("^(%d+)(%.)(.*)$")
  if number == nil then
    number, marker, rest = "", first.text:match("^([-+=/])(.*)$")
  end
  if marker == nil then
    return inlines
  end
  local result = pandoc.Inlines({ pandoc.RawInline("typst", number .. "\\" .. marker) })
  if rest ~= "" then
    result:insert(pandoc.Str(rest))
  end
  for i = 2, #inlines do
    result:insert(inlines[i])
  end
  return result
end

--- A metadata value, and each value of a list, with its start as text (Typst only).
local function meta_as_text(value)
  local kind = pandoc.utils.type(value)
  if kind == "Inlines" then
    return start_as_text(value)
  end
  if kind == "List" then
    return value:map(meta_as_text)
  end
  return value
end

--- The text of the values of `keys` in `meta` that are given, joined by `separator`.
local function joined(meta, keys, separator)
  local parts = {}
  for _, key in ipairs(keys) do
    local value = meta[key] and pandoc.utils.stringify(meta[key]) or ""
    if value ~= "" then
      table.insert(parts, value)
    end
  end
  return table.concat(parts, separator)
end

--- Word's cover: pandoc's docx writer shows only the title, subtitle, authors and date,
--- so the date's paragraph carries the series and number and the publisher too, a line
--- each, as the other covers show them. Each value is its text, never markup.
local function docx_meta(meta)
  local lines = {
    joined(meta, { "series", "number" }, " "),
    joined(meta, { "publisher", "contact" }, " · "),
    joined(meta, { "date" }, ""),
  }
  local date = pandoc.Inlines({})
  for _, line in ipairs(lines) do
    if line ~= "" then
      if #date > 0 then
        date:insert(pandoc.LineBreak())
      end
      date:insert(pandoc.Str(line))
    end
  end
  meta.date = #date > 0 and date or nil
  return meta
end

--- The metadata the template writes into content blocks, each value's start as text.
local function Meta(meta)
  if DOCX then
    return docx_meta(meta)
  end
  if not TYPST then
    return nil
  end
  for key, value in pairs(meta) do
    meta[key] = meta_as_text(value)
  end
  return meta
end

-- Accessibility: HTML tables with row and column headers that scroll in their own box,
-- figures marked to be drawn inline with selectable text (render.py draws them), a
-- diagram's values in a <details>; in the
-- other formats, the parts that only HTML shows are left out.

local HTML = FORMAT:match("html") ~= nil

--- Whether a cell holds nothing.
local function is_empty(cell)
  return #cell.contents == 0
end

--- Whether a cell's text is bold, as tables.py writes a heading or a total row.
local function is_bold(cell)
  local first = cell.contents[1]
  local inline = first and first.content and first.content[1]
  return inline ~= nil and inline.t == "Strong"
end

--- Whether a body row heads a group of rows (B1–B6: "Kön", "Avstämningsmöte"): its
--- label bold and its first value empty, as tables.py writes a group heading.
local function is_group_heading(row)
  return #row.cells > 1 and is_bold(row.cells[1]) and is_empty(row.cells[2])
end

--- The body rows as table bodies, each row's label a row header (<th scope="row">):
--- one body per group, opened by its heading (<th scope="rowgroup">), and a bold total
--- row after the groups in a body of its own, so that no group's header covers it.
local function grouped_bodies(bodies)
  local result, current, grouped = {}, nil, false
  for _, body in ipairs(bodies) do
    for _, row in ipairs(body.body) do
      local heading = is_group_heading(row)
      local total = grouped and not heading and is_bold(row.cells[1])
      if current == nil or heading or total then
        current = { attr = pandoc.Attr(), head = {}, body = {}, row_head_columns = 1 }
        table.insert(result, current)
      end
      grouped = grouped or heading
      -- A heading's label heads its group; it cannot span the (empty) cells after it,
      -- as pandoc keeps a row header within the row-header column.
      row.cells[1].attributes.scope = heading and "rowgroup" or "row"
      table.insert(current.body, row)
    end
  end
  return result
end

--- A table with headers a screen reader can name every cell by (column headers with
--- scope "col", row labels and group headings as row headers), in a focusable region
--- named by the caption that scrolls sideways by itself on a narrow screen.
local function html_table(tbl)
  for _, row in ipairs(tbl.head.rows) do
    for _, cell in ipairs(row.cells) do
      cell.attributes.scope = "col"
    end
  end
  tbl.bodies = grouped_bodies(tbl.bodies)
  local name = pandoc.utils.stringify(tbl.caption.long)
  -- a list of pairs, not a table keyed by name: the attributes keep this order in
  -- every run (a Lua table's order is not defined), so two renders are identical
  local attributes = { { "role", "region" }, { "tabindex", "0" }, { "aria-label", name } }
  return pandoc.Div(tbl, pandoc.Attr("", { "table-scroll" }, attributes))
end

--- An SVG figure, to be drawn inline once pandoc has written the page (render.py's
--- _inline_svgs, which says how), named by its alt text: marked here with the file it
--- was found as. Only an image this filter found to be SVG is marked: a mark a source
--- wrote on any other image is taken off. Any other image stays an <img>; one at an
--- address is not fetched (render.py refuses it).
local function inline_svg(img)
  img.attributes["data-inline-svg"] = nil
  if img.src:match("^%a[%w+.-]+:") and not img.src:match("^data:") then
    return img
  end
  local mime = pandoc.mediabag.fetch(img.src)
  if mime == nil or not mime:match("^image/svg%+xml") then
    return img
  end
  img.attributes["data-inline-svg"] = img.src
  return img
end

--- A diagram's values (a `.figure-data` div: its first paragraph, then a table) as a
--- <details> element, closed, whose summary is that paragraph.
local function html_figure_data(div)
  if not div.classes:includes("figure-data") then
    return nil
  end
  local summary = table.remove(div.content, 1)
  local blocks = pandoc.Blocks({ pandoc.RawBlock("html", '<details class="figure-data">\n<summary>') })
  blocks:insert(pandoc.Plain(summary.content))
  blocks:insert(pandoc.RawBlock("html", "</summary>"))
  blocks:extend(div.content)
  blocks:insert(pandoc.RawBlock("html", "</details>"))
  return blocks
end

--- The name of a table's label column (a `.stub` span, in the top-left header cell)
--- is for HTML, where it names the row headers; print leaves the cell empty, as the
--- series prints its tables.
local function html_stub(span)
  if span.classes:includes("stub") then
    return span.content
  end
end

--- A diagram's values are HTML's: the PDF and Word have the figure's alt text.
local function without_figure_data(div)
  if div.classes:includes("figure-data") then
    return {}
  end
end

--- Text in another language keeps it in Typst (hyphenation, and the PDF's tags); a
--- table's `.stub` label is left out (see html_stub).
local function print_span(span)
  if span.classes:includes("stub") then
    return {}
  end
  local lang = span.attributes.lang
  if not TYPST or lang == nil or not lang:match("^%a%a%a?$") then
    return nil
  end
  local result = pandoc.Inlines({ pandoc.RawInline("typst", '#text(lang: "' .. lang .. '")[') })
  result:extend(span.content)
  result:insert(pandoc.RawInline("typst", "]"))
  return result
end

local accessible = HTML
    and { Table = html_table, Image = inline_svg, Div = html_figure_data, Span = html_stub }
  or { Div = without_figure_data, Span = print_span }

return { inert, { Div = Div, Table = Table, Str = Str, Meta = Meta, Image = Image }, accessible }
