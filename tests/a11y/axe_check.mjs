#!/usr/bin/env node
// Usage: node axe_check.mjs FILE.html [--width 320] [--chromium /usr/bin/chromium]
// Runs axe-core in headless Chromium (via puppeteer-core, no browser download)
// and prints JSON to stdout. Exit code: 0 = no violations and no overflow,
// 1 = findings, 2 = usage / runtime error.
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const AXE_SRC = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_VERSION = require('axe-core/package.json').version;
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

function parseArgs(argv) {
  const out = { file: null, width: null, chromium: process.env.CHROMIUM || '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--width') out.width = parseInt(argv[++i], 10);
    else if (a === '--chromium') out.chromium = argv[++i];
    else if (!out.file) out.file = a;
    else throw new Error(`unexpected argument: ${a}`);
  }
  if (!out.file) throw new Error('usage: node axe_check.mjs FILE.html [--width 320]');
  if (out.width !== null && !(out.width > 0)) throw new Error('--width needs a positive integer');
  return out;
}

const trunc = (s, n = 200) => (s && s.length > n ? s.slice(0, n) + '…' : s);

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const path = resolve(args.file);
  if (!existsSync(path)) throw new Error(`no such file: ${path}`);
  const t0 = Date.now();
  const browser = await puppeteer.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-setuid-sandbox', '--disable-dev-shm-usage',
      '--disable-gpu', '--no-first-run', '--no-default-browser-check',
      '--allow-file-access-from-files'],
  });
  const dialogs = [];
  const consoleErrors = [];
  const pageErrors = [];
  const failedRequests = [];
  try {
    const page = await browser.newPage();
    page.on('dialog', async (d) => {
      dialogs.push({ type: d.type(), message: d.message() });
      await d.dismiss().catch(() => {});
    });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(trunc(m.text(), 500));
    });
    page.on('pageerror', (e) => pageErrors.push(trunc(String(e && e.message || e), 500)));
    page.on('requestfailed', (r) => failedRequests.push({ url: trunc(r.url(), 200), error: r.failure()?.errorText }));
    const width = args.width ?? 1280;
    await page.setViewport({ width, height: 800, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load', timeout: 60000 });
    await page.evaluate(AXE_SRC);
    const res = await page.evaluate(async (tags) => {
      // eslint-disable-next-line no-undef
      return await axe.run(document, { runOnly: { type: 'tag', values: tags } });
    }, TAGS);
    const violations = res.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      count: v.nodes.length,
      nodes: v.nodes.map((n) => ({ target: n.target, html: trunc(n.html) })),
    }));
    const result = {
      file: path,
      axe_version: AXE_VERSION,
      viewport_width: width,
      violations,
      incomplete_count: res.incomplete.length,
      incomplete: res.incomplete.map((i) => ({ id: i.id, count: i.nodes.length,
        sample: i.nodes.slice(0, 3).map((n) => ({ target: n.target, html: trunc(n.html, 120),
          why: trunc((n.any[0] || n.all[0] || n.none[0] || {}).message, 160) })) })),
      dialogs,
      console_errors: consoleErrors,
      page_errors: pageErrors,
      failed_requests: failedRequests,
    };
    // What the page could run once loaded: scripts, SVG, event handlers, links to
    // other schemes than the web's and mail (for the hostile-input tests).
    result.dom = await page.evaluate(() => {
      const all = [...document.querySelectorAll('*')];
      return {
        scripts: document.querySelectorAll('script').length,
        svgs: document.querySelectorAll('svg').length,
        iframes: document.querySelectorAll('iframe, object, embed').length,
        handlers: all.flatMap((el) => [...el.attributes].filter((a) => /^on/i.test(a.name))
          .map((a) => `${el.tagName.toLowerCase()}[${a.name}]`)),
        links: [...document.querySelectorAll('[href], [src], [action], [formaction]')]
          .map((el) => el.getAttribute('href') ?? el.getAttribute('src') ?? el.getAttribute('action')
            ?? el.getAttribute('formaction'))
          .filter((url) => !/^(https?:|mailto:|#|data:image\/|data:font\/)/i.test(url.trim())),
      };
    });
    if (args.width !== null) {
      result.overflow = await page.evaluate((vw) => {
        const docW = document.documentElement.scrollWidth;
        const scrollsX = (el) => {
          for (let p = el.parentElement; p; p = p.parentElement) {
            const ox = getComputedStyle(p).overflowX;
            if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') {
              if (p !== document.documentElement && p !== document.body) return true;
            }
          }
          return false;
        };
        const desc = (el) => {
          let s = el.tagName.toLowerCase();
          if (el.id) s += '#' + el.id;
          if (el.classList.length) s += '.' + [...el.classList].join('.');
          return s;
        };
        // Text that overflows its own box (a long word in a heading) widens the page
        // though the box does not poke out: such a box is an offender too.
        const spills = (el) => el instanceof HTMLElement && getComputedStyle(el).overflowX === 'visible'
          && el.scrollWidth > el.clientWidth + 1 && el.getBoundingClientRect().left + el.scrollWidth > vw + 0.5;
        // An offender pokes out past the viewport while its parent does not:
        // that is the outermost element causing the overflow (a wide table, an
        // unbreakable <code>, an image), not every cell inside it.
        const pokesOut = (el) => el.getBoundingClientRect().right + window.scrollX > vw + 0.5;
        const keep = [];
        for (const el of document.body.querySelectorAll('*')) {
          const r = el.getBoundingClientRect();
          if (r.width === 0 && r.height === 0) continue;
          if (!pokesOut(el) && !spills(el)) continue;
          if (scrollsX(el)) continue;
          const par = el.parentElement;
          if (par && par !== document.body && pokesOut(par)) continue;
          keep.push({ el, right: r.right + window.scrollX, width: r.width, scrollWidth: el.scrollWidth });
        }
        keep.sort((a, b) => b.right - a.right);
        return {
          document_scroll_width: docW,
          viewport_width: vw,
          overflows: docW > vw,
          offenders: keep.slice(0, 25).map((o) => ({
            element: desc(o.el),
            right_edge: Math.round(o.right),
            width: Math.round(o.width),
            scroll_width: o.scrollWidth,
            html: (o.el.outerHTML.length > 200 ? o.el.outerHTML.slice(0, 200) + '…' : o.el.outerHTML),
          })),
          offender_count: keep.length,
        };
      }, args.width);
    }
    result.elapsed_ms = Date.now() - t0;
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    const bad = violations.length > 0 || (result.overflow && result.overflow.overflows)
      || dialogs.length > 0 || pageErrors.length > 0;
    process.exitCode = bad ? 1 : 0;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  process.stderr.write(`axe_check: ${e && e.stack || e}\n`);
  process.exit(2);
});
