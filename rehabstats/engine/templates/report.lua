-- report.lua: maps the report's markdown conventions onto the output formats.
-- In HTML the div classes are styled by report.css; in Typst they become calls
-- of the same-named functions defined in report.typ. Two filters run in turn: the
-- first keeps markup that could run out of the document, the second maps the
-- conventions onto HTML and Typst.

local TYPST = FORMAT:match("typst") ~= nil

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
--- raw Typst within a line, print as the text they are written with (a block of raw
--- Typst is a notebook author's own); a link to a scheme other than http(s) or mailto
--- is only its text; event-handler attributes are dropped.
local inert = {
  RawInline = function(raw)
    if is_html(raw) or raw.format:lower() == "typst" then
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

--- Page breaks, table/diagram notes and diagram titles (Typst only).
local function Div(div)
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

--- The metadata the template writes into content blocks, each value's start as text.
local function Meta(meta)
  if not TYPST then
    return nil
  end
  for key, value in pairs(meta) do
    meta[key] = meta_as_text(value)
  end
  return meta
end

return { inert, { Div = Div, Table = Table, Str = Str, Meta = Meta } }
