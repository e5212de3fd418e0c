// Drives lineage's web dashboard (/ui) in headless Chromium with playwright-core, for the
// browser test (crates/cli/tests/it/ui.rs) and the benchmark (bench/ui.sh). Prints one JSON
// object on stdout; the caller asserts on it.
//
//   node scripts/ui-browser.mjs check BASE_URL REPOSITORY PODS_FILE OUT_DIR
//     walk the flasksample scenario: timeline, successor link, referrer tree, fleet upload;
//     collect console errors and axe-core violations; screenshots into OUT_DIR
//   node scripts/ui-browser.mjs paint URL [RUNS]
//     first paint and first contentful paint of URL, RUNS times (default 5)
//
// Environment: LINEAGE_TEST_NODE_MODULES (a node_modules holding playwright-core and
// axe-core, as scripts/test.sh installs them), LINEAGE_TEST_CHROMIUM (default
// /usr/bin/chromium).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const modules = process.env.LINEAGE_TEST_NODE_MODULES;
if (!modules) {
  console.error("ui-browser.mjs: set LINEAGE_TEST_NODE_MODULES (scripts/test.sh does)");
  process.exit(2);
}
const require = createRequire(path.join(modules, "index.js"));
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const executablePath = process.env.LINEAGE_TEST_CHROMIUM || "/usr/bin/chromium";

const [mode, ...args] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath, headless: true });
try {
  const result = mode === "paint" ? await paint(...args) : await check(...args);
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
} finally {
  await browser.close();
}

/** axe-core's serious and critical violations on the page, each named with the page. */
async function axe(page, name) {
  await page.evaluate(axeSource + "\n;0");
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  return found
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ page: name, ...v }));
}

async function check(base, repository, podsFile, outDir) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  const violations = [];
  const screenshots = [];
  const shot = async (name) => {
    const file = path.join(outDir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    screenshots.push(file);
  };
  const out = { timeline: {}, image: {}, fleet: {} };

  // Repositories → the repository → its lineage's timeline, by links, with the keyboard
  // for the last step.
  await page.goto(`${base}/ui`);
  violations.push(...(await axe(page, "repositories")));
  await page.getByRole("link", { name: repository, exact: true }).click();
  await page.waitForLoadState();
  violations.push(...(await axe(page, "repository")));
  await page.getByRole("link", { name: "lineage 1.0" }).focus();
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  out.timeline.title = await page.locator("h1").innerText();
  const first = page.locator("li#rev-20230707");
  out.timeline.eolText = await first.innerText();
  const successor = first.locator(".successor a");
  out.timeline.successorText = await successor.innerText();
  out.timeline.successorHref = await successor.getAttribute("href");
  violations.push(...(await axe(page, "timeline")));
  await shot("timeline");
  await page.emulateMedia({ colorScheme: "dark" });
  violations.push(...(await axe(page, "timeline (dark)")));
  await shot("timeline-dark");
  await page.emulateMedia({ colorScheme: "light" });

  // Follow the successor arrow to revision 2's page, and open its referrer tree.
  await Promise.all([page.waitForNavigation(), successor.click()]);
  out.image.title = await page.locator("h1").innerText();
  out.image.statusText = await page.locator("#status-text pre").textContent();
  const summary = page.locator("#referrers summary");
  await summary.focus();
  await page.keyboard.press("Enter");
  out.image.treeOpen = await page.locator("#referrers").evaluate((d) => d.open);
  out.image.treeSummary = await summary.innerText();
  out.image.treeTypes = await page.locator("#referrers .node .type").allInnerTexts();
  out.image.treeMediaTypes = await page.locator("#referrers .node .mt").allInnerTexts();
  out.image.treeSizes = await page.locator("#referrers .node .size").allInnerTexts();
  out.image.commands = await page.locator(".cmd code").allInnerTexts();
  violations.push(...(await axe(page, "image")));
  await shot("image");

  // The fleet page: upload a pods document, audit, find the end-of-life row.
  await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "Fleet" }).click()]);
  await page.setInputFiles("#upload", podsFile);
  await page.waitForFunction(() => document.getElementById("input").value.length > 0);
  await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Audit" }).click()]);
  out.fleet.summary = await page.locator(".summary").innerText();
  out.fleet.eolRows = await page.locator("tr.st-end-of-life").allInnerTexts();
  out.fleet.rows = await page.locator("table.audit tbody tr").count();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download markdown" }).click(),
  ]);
  out.fleet.markdownName = download.suggestedFilename();
  out.fleet.markdown = readFileSync(await download.path(), "utf8");
  violations.push(...(await axe(page, "fleet")));
  await shot("fleet");

  await context.close();
  return { ...out, consoleErrors, violations, screenshots };
}

async function paint(url, runs = "5") {
  const results = [];
  for (let i = 0; i < Number(runs); i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(url, { waitUntil: "load" });
    const timing = await page.evaluate(() => {
      const paints = Object.fromEntries(
        performance.getEntriesByType("paint").map((p) => [p.name, p.startTime]),
      );
      const nav = performance.getEntriesByType("navigation")[0];
      return {
        firstPaint: paints["first-paint"] ?? null,
        firstContentfulPaint: paints["first-contentful-paint"] ?? null,
        responseEnd: nav ? nav.responseEnd : null,
        bytes: nav ? nav.transferSize : null,
        items: document.querySelectorAll("li.rev").length,
      };
    });
    results.push({ ...timing, loadMs: Date.now() - started });
    await context.close();
  }
  return { url, runs: results };
}
