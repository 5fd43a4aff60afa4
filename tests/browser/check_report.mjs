// Opens a page of pyheap report in Debian's chromium (headless, through
// playwright-core) and prints, as one JSON object, what a person would
// see and do there, for tests/live/suite_report.py to compare with
// pyheap's own --format json:
//
//   node check_report.mjs PAGE.html SHOT_PREFIX [SORT_COLUMN]
//
// errors: console errors and warnings and uncaught exceptions;
// requests: every request but the page's own (there must be none);
// seen: the numbers in the DOM (tables, memory legend, totals, icicle
//   cells); zoom: what clicking the largest cell of each icicle did;
// sort: the types table's SORT_COLUMN (default 2: bytes) after clicking
//   its heading once and twice; bars: the growth bars' deltas;
// nojs: the same numbers with JavaScript disabled; phone: whether a 390 px
//   wide screen scrolls sideways.  Screenshots: SHOT_PREFIX.png (1280 px,
//   whole page), SHOT_PREFIX-top.png (its first 900 px),
//   SHOT_PREFIX-zoom.png, SHOT_PREFIX-phone.png.
// Chromium: $PYHEAP_CHROMIUM or /usr/bin/chromium.
import path from 'node:path';
import { chromium } from 'playwright-core';

const [pagePath, shot, sortArg] = process.argv.slice(2);
if (!pagePath || !shot) {
  console.error('usage: node check_report.mjs PAGE.html SHOT_PREFIX');
  process.exit(2);
}
const url = 'file://' + path.resolve(pagePath);

// What the page shows, read from the DOM (runs in the page).
function readPage() {
  const num = (el, attr) => Number(el.getAttribute(attr));
  const table = (id) => {
    const t = document.getElementById(id);
    if (!t) return null;
    return [...t.tBodies[0].rows].map((r) => [...r.cells].map((c) =>
      c.hasAttribute('data-v') ? Number(c.getAttribute('data-v'))
        : c.textContent));
  };
  const memory = {};
  document.querySelectorAll('#memory-legend tr[data-key]').forEach((r) => {
    memory[r.getAttribute('data-key')] = num(r, 'data-bytes');
  });
  const totals = {};
  document.querySelectorAll('.totals dd').forEach((d) => {
    totals[d.id] = num(d, 'data-v');
  });
  const icicles = {};
  document.querySelectorAll('svg.icicle').forEach((svg) => {
    icicles[svg.id] = [...svg.querySelectorAll('g.n')].map((g) => ({
      id: num(g, 'data-id'), d: num(g, 'data-d'),
      count: num(g, 'data-count'), bytes: num(g, 'data-bytes'),
      bytesA: g.hasAttribute('data-bytes-a') ? num(g, 'data-bytes-a') : null,
      name: g.querySelector('text').textContent,
    }));
  });
  return {
    title: document.title,
    types: table('types-table'), sites: table('sites-table'),
    native: table('native-table'), trend: table('trend-table'),
    retained: table('retained-table'), why: table('why-table'),
    charts: Object.fromEntries([...document.querySelectorAll('svg.chart')]
      .map((svg) => [svg.id, {
        points: [...svg.querySelectorAll('circle.pt')].map((c) => ({
          t: Number(c.getAttribute('data-t')),
          objects: Number(c.getAttribute('data-objects')),
          native: Number(c.getAttribute('data-native')),
          rss: Number(c.getAttribute('data-rss')) })),
        restarts: [...svg.querySelectorAll('g.restart')]
          .map((g) => Number(g.getAttribute('data-pid'))) }])),
    keycharts: [...document.querySelectorAll('.key-chart')]
      .map((d) => d.getAttribute('data-key')),
    garbage: table('garbage-table'), lost: table('lost-table'),
    memory: Object.keys(memory).length ? memory : null,
    totals, icicles,
    bars: Object.fromEntries([...document.querySelectorAll('svg.bars')]
      .map((svg) => [svg.id, [...svg.querySelectorAll('g.bar')]
        .map((g) => Number(g.getAttribute('data-delta')))])),
    scripts: document.scripts.length,
    external: [...document.querySelectorAll('[src],[href]')]
      .map((e) => e.getAttribute('src') || e.getAttribute('href')),
  };
}

const browser = await chromium.launch({
  executablePath: process.env.PYHEAP_CHROMIUM || '/usr/bin/chromium',
});
const out = { errors: [], requests: [], zoom: {}, sort: null };
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      out.errors.push(m.type() + ': ' + m.text());
    }
  });
  page.on('pageerror', (e) => out.errors.push('pageerror: ' + e.message));
  page.on('request', (r) => { if (r.url() !== url) out.requests.push(r.url()); });
  await page.goto(url, { waitUntil: 'load' });
  out.seen = await page.evaluate(readPage);
  await page.screenshot({ path: shot + '.png', fullPage: true });
  await page.screenshot({ path: shot + '-top.png' });

  // Zoom: click the largest cell below the root of each icicle; it must
  // then fill the width, and a cell beside it must be hidden.
  for (const id of Object.keys(out.seen.icicles)) {
    const r = await page.evaluate((id) => {
      const svg = document.getElementById(id);
      const cells = [...svg.querySelectorAll('g.n[data-d="1"]')];
      if (!cells.length) return null;
      return { target: cells[0].getAttribute('data-id'),
        siblings: cells.length, w: Number(svg.getAttribute('data-w')) };
    }, id);
    if (!r) { out.zoom[id] = null; continue; }
    await page.locator(`#${id} g.n[data-id="${r.target}"] rect`).click();
    out.zoom[id] = await page.evaluate(({ id, target }) => {
      const svg = document.getElementById(id);
      const g = svg.querySelector(`g.n[data-id="${target}"]`);
      const inner = g.querySelector('svg');
      const others = [...svg.querySelectorAll('g.n[data-d="1"]')]
        .filter((n) => n !== g);
      return { zoomed: svg.getAttribute('data-zoom'),
        width: Number(inner.getAttribute('width')),
        x: Number(inner.getAttribute('x')),
        hidden: others.filter((n) => n.style.display === 'none').length,
        others: others.length };
    }, { id, target: r.target });
    out.zoom[id].w = r.w;
    out.zoom[id].target = r.target;
    if (id === 'icicle-modules') {
      await page.locator(`#${id}`).screenshot({ path: shot + '-zoom.png' });
      // Back out: the root.
      await page.locator(`#${id} g.n[data-id="0"] rect`).click();
      out.zoom[id].back = await page.evaluate((id) =>
        [...document.getElementById(id).querySelectorAll('g.n')]
          .filter((n) => n.style.display === 'none').length, id);
    }
  }

  // Sorting: the types table by bytes, descending then ascending.
  const bytesCol = Number(sortArg || 2);
  const col = () => page.evaluate((c) =>
    [...document.getElementById('types-table').tBodies[0].rows]
      .map((r) => Number(r.cells[c].getAttribute('data-v'))), bytesCol);
  const head = page.locator('#types-table th').nth(bytesCol);
  await head.click();
  const first = await col();
  await head.click();
  out.sort = { first, second: await col() };

  // A phone: nothing wider than the screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const pp = await phone.newPage();
  pp.on('pageerror', (e) => out.errors.push('phone pageerror: ' + e.message));
  await pp.goto(url, { waitUntil: 'load' });
  out.phone = await pp.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    width: window.innerWidth }));
  await pp.screenshot({ path: shot + '-phone.png' });

  // JavaScript off: the same numbers, from the HTML alone.
  const nojs = await browser.newContext({ javaScriptEnabled: false });
  const np = await nojs.newPage();
  await np.goto(url, { waitUntil: 'load' });
  out.nojs = await np.evaluate(readPage);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
