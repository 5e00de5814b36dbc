#!/usr/bin/env node
// Usage: node reload_check.mjs URL TEXT [--chromium /usr/bin/chromium] [--timeout 120]
// Opens URL in headless Chromium (puppeteer-core), prints "ready" once the page is
// shown, then waits until the page, reloaded by itself (no navigation from here),
// contains TEXT. Prints JSON {"reloads": n, "found": bool, "alerts": [...]} and exits 0
// when found, 1 when not within the timeout, 2 on a usage or runtime error.
import puppeteer from 'puppeteer-core';

async function main() {
  const [url, text, ...rest] = process.argv.slice(2);
  if (!url || !text) throw new Error('usage: node reload_check.mjs URL TEXT');
  let chromium = process.env.CHROMIUM || '/usr/bin/chromium';
  let timeout = 120;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--chromium') chromium = rest[++i];
    else if (rest[i] === '--timeout') timeout = parseInt(rest[++i], 10);
    else throw new Error(`unexpected argument: ${rest[i]}`);
  }
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-setuid-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    let reloads = 0;
    page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) reloads += 1; });
    await page.goto(url, { waitUntil: 'load' });
    reloads = 0;
    process.stdout.write('ready\n');
    const deadline = Date.now() + timeout * 1000;
    let found = false;
    while (!found && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        found = await page.evaluate((t) => document.body.innerText.includes(t), text);
      } catch (e) { /* the page is reloading */ }
    }
    const alerts = await page.evaluate(
      () => Array.from(document.querySelectorAll('[role=alert]')).map((a) => a.innerText));
    process.stdout.write(JSON.stringify({ reloads, found, alerts }) + '\n');
    process.exitCode = found ? 0 : 1;
  } finally {
    await browser.close();
  }
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(2); });
