-- report.lua: maps the report's markdown conventions onto the output formats.
-- In HTML the div classes are styled by report.css; in Typst they become calls
-- of the same-named functions defined in report.typ.

local TYPST = FORMAT:match("typst") ~= nil

-- Div classes that become a call of the same-named Typst function.
local WRAPPERS = { ["note"] = true, ["diagram-title"] = true }

--- Wrap blocks in a call of a Typst function taking a content argument.
local function wrap(name, blocks)
  local result = pandoc.Blocks({ pandoc.RawBlock("typst", "#" .. name .. "[") })
  result:extend(blocks)
  result:insert(pandoc.RawBlock("typst", "]"))
  return result
end

--- Page breaks, table/diagram notes and diagram titles (Typst only).
function Div(div)
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
function Table(tbl)
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
