// The pages Intake serves, in headless Chromium (Debian's chromium, driven by playwright-core):
//   /docs       Swagger UI lists the operations; POST /ingest through "Try it out" answers 200
//   /dashboard  that task reaches SUCCESS with its counters; the chart is drawn; patient search by
//               MRN and by name finds the test's patient; a CSV with one bad row shows the row error
//   /redoc      ReDoc lists the operations
// On every page: no console errors, no request to any host other than 127.0.0.1.
// Screenshots: docs.png, docs-try-it-out.png, dashboard.png, redoc.png in $INTAKE_SCREENSHOTS.
// Every section runs even when an earlier one failed; any failure → exit code 1 with a message.
// Only the test's own synthetic records are ever printed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

import { IntakeServer, requireEnv } from "./lib/intake_server.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const TASK_SUCCESS_TIMEOUT_MS = 60000;

// The operations both documentation pages must list.
const REQUIRED_OPERATIONS = [
  ["POST", "/ingest"],
  ["GET", "/tasks/{task_id}"],
  ["GET", "/patients"],
  ["GET", "/patients/{id}"],
];

const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`.toUpperCase();
const MRN_A = `BRW-${stamp}-A`;
const MRN_B = `BRW-${stamp}-B`;
const MRN_CSV = `BRW-${stamp}-C`;
const LAST_NAME = `Browsertest${stamp}`;
// Markup in a name must show as text on the dashboard, never run.
const MARKUP_NAME = `<img src="/xss-probe" onerror="window.__xss=1">Bo`;
const JSON_RECORDS = [
  { mrn: MRN_A, first_name: "Ada", last_name: LAST_NAME, birth_date: "1980-01-02",
    visit_account_number: `V-${stamp}-1`, visit_date: "2024-05-06", reason: "Synthetic browser test" },
  { mrn: MRN_B, first_name: MARKUP_NAME, last_name: LAST_NAME, birth_date: "1990-03-04",
    visit_account_number: `V-${stamp}-2`, visit_date: "2024-05-07", reason: "Synthetic browser test" },
];
// Row 2 has an impossible birth date: the worker rejects that row and loads row 1.
const CSV_BODY = [
  "mrn,first_name,last_name,birth_date,visit_account_number,visit_date,reason",
  `${MRN_CSV},Cy,${LAST_NAME},1970-07-08,V-${stamp}-3,2024-06-01,Synthetic`,
  `${MRN_CSV}-X,Di,${LAST_NAME},2001-02-30,V-${stamp}-4,2024-06-02,Synthetic`,
].join("\n") + "\n";

const failures = [];
const log = (msg) => console.log(msg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Check extends Error {}
function check(cond, message) {
  if (!cond) throw new Check(message);
}

async function section(name, fn) {
  const started = Date.now();
  try {
    await fn();
    log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    const message = e instanceof Check ? e.message : (e && e.stack) || String(e);
    failures.push(`${name}: ${message}`);
    log(`FAIL ${name}: ${message}`);
  }
}

// A page whose console errors, uncaught exceptions and foreign requests are recorded per label.
function watchPage(page, label, problems) {
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`${label}: console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${label}: uncaught exception: ${e.message}`));
  page.on("request", (req) => {
    const url = new URL(req.url());
    if (["data:", "blob:", "about:"].includes(url.protocol)) return;
    if (url.hostname !== "127.0.0.1") {
      problems.push(`${label}: request to another host: ${url.origin}${url.pathname} (${req.resourceType()})`);
    }
  });
  page.on("requestfailed", (req) => {
    if (req.failure()?.errorText === "net::ERR_ABORTED") return; // a poll cut short, not an error
    problems.push(`${label}: request failed: ${req.method()} ${new URL(req.url()).pathname} (${req.failure()?.errorText})`);
  });
}

async function expectPage(page, base, route) {
  const response = await page.goto(`${base}${route}`, { waitUntil: "domcontentloaded" });
  check(response && response.status() === 200,
    `GET ${route} answered ${response && response.status()} (is src/http/assets/ in place?)`);
}

// ---- /docs -------------------------------------------------------------------------------------

const stripZw = (s) => (s || "").replace(/[\u200B-\u200D\uFEFF]/g, "").trim();

async function swaggerOperations(page) {
  return page.$$eval(".opblock", (blocks) => blocks.map((b) => {
    const p = b.querySelector(".opblock-summary-path");
    return {
      method: (b.querySelector(".opblock-summary-method")?.textContent || "").trim().toUpperCase(),
      path: (p?.getAttribute("data-path") || p?.textContent || ""),
    };
  }));
}

async function testDocs(page, base, shots) {
  await expectPage(page, base, "/docs");
  try {
    await page.waitForSelector(".opblock", { timeout: 30000 });
  } catch {
    throw new Check("Swagger UI rendered no operation (.opblock) within 30 s — is src/http/assets/docs.html a working Swagger UI page?");
  }
  const ops = (await swaggerOperations(page)).map((o) => `${o.method} ${stripZw(o.path)}`);
  for (const [method, p] of REQUIRED_OPERATIONS) {
    check(ops.includes(`${method} ${p}`), `/docs does not list ${method} ${p} (found: ${ops.join(", ")})`);
  }
  await page.screenshot({ path: path.join(shots, "docs.png"), fullPage: true });

  const block = page.locator(".opblock.opblock-post").filter({
    has: page.locator('.opblock-summary-path[data-path="/ingest"]'),
  }).first();
  check(await block.count() === 1, "no POST /ingest block in Swagger UI");
  if (!/\bis-open\b/.test(await block.getAttribute("class"))) {
    await block.locator(".opblock-summary").first().click();
  }
  // With tryItOutEnabled the block opens in try-it-out mode and the button reads "Cancel".
  const tryOut = block.locator(".try-out__btn").first();
  await tryOut.waitFor({ timeout: 10000 });
  if (/try it out/i.test(await tryOut.innerText())) await tryOut.click();
  check(/cancel/i.test(await tryOut.innerText()), "the Try it out button did not switch POST /ingest to try-it-out mode");
  const contentType = block.locator(".opblock-section-request-body select, .content-type-wrapper select").first();
  if (await contentType.count()) {
    const current = await contentType.inputValue();
    if (current !== "application/json") await contentType.selectOption("application/json");
  }
  const textarea = block.locator("textarea.body-param__text").first();
  await textarea.waitFor({ timeout: 10000 });
  await textarea.fill(JSON.stringify(JSON_RECORDS, null, 2));
  await block.locator(".execute").first().click();

  const status = block.locator(".live-responses-table tbody tr.response .response-col_status").first();
  await status.waitFor({ timeout: 20000 });
  const code = (await status.textContent()).trim();
  const responseText = await block.locator(".live-responses-table").first().innerText();
  check(code.startsWith("200"), `Try it out: POST /ingest answered ${code}, expected 200`);
  const m = /"task_id"\s*:\s*"([0-9A-Za-z-]+)"/.exec(responseText);
  check(m, "Try it out: the 200 response shows no task_id");
  check(/"records_received"\s*:\s*2\b/.test(responseText), "Try it out: records_received is not 2");
  // The viewport on the server's response (status 200 and the body with its task_id).
  await block.locator(".live-responses-table").first().evaluate((e) => {
    e.scrollIntoView({ block: "start" });
    window.scrollBy(0, -220);
  });
  await page.screenshot({ path: path.join(shots, "docs-try-it-out.png") });
  return m[1];
}

// ---- /dashboard --------------------------------------------------------------------------------

async function ingestByFetch(page, body, contentType) {
  return page.evaluate(async ([b, ct]) => {
    const r = await fetch("/ingest", { method: "POST", headers: { "Content-Type": ct }, body: b });
    return { status: r.status, body: await r.json() };
  }, [body, contentType]);
}

async function waitTaskOnDashboard(page, taskId) {
  const row = page.locator(`#tasks tr[data-task-id="${taskId}"]`);
  try {
    await row.waitFor({ timeout: 15000 });
  } catch {
    throw new Check(`task ${taskId} did not appear in the dashboard's task table within 15 s`);
  }
  await row.click();
  const deadline = Date.now() + TASK_SUCCESS_TIMEOUT_MS;
  let seen = "";
  while (Date.now() < deadline) {
    const rowStatus = await row.getAttribute("data-status");
    const detail = await page.locator("#task-detail").getAttribute("data-status");
    const detailId = await page.locator("#task-detail").getAttribute("data-task-id");
    seen = `row ${rowStatus}, detail ${detail}`;
    if (rowStatus === "FAILURE") throw new Check(`task ${taskId} reached FAILURE on the dashboard`);
    if (rowStatus === "SUCCESS" && detail === "SUCCESS" && detailId === taskId) {
      check((await row.locator(".status").innerText()).trim() === "SUCCESS", "the row's status cell does not read SUCCESS");
      return row;
    }
    await sleep(250);
  }
  throw new Check(`task ${taskId} did not reach SUCCESS on the dashboard within ${TASK_SUCCESS_TIMEOUT_MS / 1000} s (last: ${seen})`);
}

async function counter(page, key) {
  const dd = page.locator(`#counters [data-counter="${key}"] dd`);
  check(await dd.count() === 1, `counter ${key} is not shown`);
  return (await dd.innerText()).trim();
}

async function searchPatient(page, by, query, expectMrn, expectVisits) {
  await page.selectOption("#search-by", by);
  await page.fill("#search-q", query);
  await page.click('#patient-search button[type="submit"]');
  const cell = page.locator("#patients tbody td.mrn", { hasText: expectMrn });
  try {
    await cell.first().waitFor({ timeout: 10000 });
  } catch {
    throw new Check(`patient search by ${by} did not show ${expectMrn}: ${await page.locator("#search-status").innerText()}`);
  }
  const exact = await page.$$eval("#patients tbody tr", (rows, mrn) => rows
    .filter((r) => r.querySelector("td.mrn")?.textContent === mrn)
    .map((r) => r.querySelector("td.visits")?.textContent), expectMrn);
  check(exact.length === 1, `search by ${by}: ${expectMrn} listed ${exact.length} times`);
  check(exact[0] === String(expectVisits), `search by ${by}: ${expectMrn} shows ${exact[0]} visits, expected ${expectVisits}`);
}

async function testDashboard(page, base, shots, taskIdFromDocs) {
  await expectPage(page, base, "/dashboard");
  await page.waitForSelector("#tasks tbody", { timeout: 10000 });
  let taskId = taskIdFromDocs;
  if (!taskId) {
    log("note /docs gave no task; the dashboard section ingests its JSON records with fetch instead");
    const r = await ingestByFetch(page, JSON.stringify(JSON_RECORDS), "application/json");
    check(r.status === 200, `POST /ingest (JSON) answered ${r.status}`);
    taskId = r.body.task_id;
  }
  await waitTaskOnDashboard(page, taskId);
  check(await counter(page, "processed_records") === "2", "processed_records is not 2");
  check(await counter(page, "patients_created") === "2", "patients_created is not 2");
  check(await counter(page, "visits_created") === "2", "visits_created is not 2");
  check(await counter(page, "error_count") === "0", "error_count is not 0");
  check(await page.locator("#errors-empty").isVisible(), "'No row errors.' is not shown for a clean task");

  check(await page.locator("#rate-chart svg").count() === 1, "the loaded-per-minute chart (#rate-chart svg) is missing");
  await page.waitForFunction(() => document.querySelectorAll("#rate-chart svg rect.barfill").length > 0,
    null, { timeout: 15000 }).catch(() => {
    throw new Check("the chart shows no bar for the rows just loaded");
  });

  await searchPatient(page, "mrn", MRN_A, MRN_A, 1);
  await searchPatient(page, "name", LAST_NAME.toLowerCase(), MRN_B, 1);
  const shownName = await page.$$eval("#patients tbody tr", (rows, mrn) => rows
    .filter((r) => r.querySelector("td.mrn")?.textContent === mrn)
    .map((r) => r.children[2].textContent)[0], MRN_B);
  check(shownName === MARKUP_NAME, "a first name containing markup is not shown as plain text");
  check(await page.locator("#patients img").count() === 0 && !(await page.evaluate(() => window.__xss)),
    "markup from a patient's name was inserted into the page as HTML");

  const csv = await ingestByFetch(page, CSV_BODY, "text/csv");
  check(csv.status === 200 && csv.body.records_received === 2,
    `POST /ingest (CSV) answered ${csv.status} with records_received ${csv.body && csv.body.records_received}`);
  await waitTaskOnDashboard(page, csv.body.task_id);
  check(await counter(page, "error_count") === "1", "the CSV task's error_count is not 1");
  check(await counter(page, "processed_records") === "2", "the CSV task's processed_records is not 2");
  const errors = await page.$$eval("#task-errors tbody tr", (rows) => rows.map((r) => ({
    row: r.querySelector(".row")?.textContent, field: r.querySelector(".field")?.textContent,
    message: r.querySelector(".message")?.textContent,
  })));
  check(await page.locator("#task-errors").isVisible(), "the row-error table is not visible");
  check(errors.length === 1 && errors[0].row === "2" && errors[0].field === "birth_date" && errors[0].message,
    `expected one row error (row 2, birth_date), the dashboard shows ${JSON.stringify(errors)}`);
  const bad = await page.locator(`#tasks tr[data-task-id="${csv.body.task_id}"] td.warn`).count();
  check(bad === 1, "the CSV task's row does not flag its error count");
  await searchPatient(page, "mrn", MRN_CSV, MRN_CSV, 1);
  await page.screenshot({ path: path.join(shots, "dashboard.png"), fullPage: true });
}

// ---- /redoc ------------------------------------------------------------------------------------

async function testRedoc(page, base, shots) {
  const spec = await (await fetch(`${base}/openapi.json`)).json().catch(() => null);
  check(spec && spec.paths, "GET /openapi.json is not a JSON OpenAPI document");
  await expectPage(page, base, "/redoc");
  try {
    await page.waitForSelector('[role="menuitem"]', { timeout: 30000 });
  } catch {
    throw new Check("ReDoc rendered no side-menu item ([role=menuitem]) within 30 s — is src/http/assets/redoc.html a working ReDoc page?");
  }
  await page.waitForSelector("h2", { timeout: 10000 });
  const menu = (await page.$$eval('[role="menuitem"]', (items) => items.map((i) => i.textContent || "")))
    .map((t) => t.replace(/\s+/g, " ").trim());
  const headings = await page.$$eval("h2", (hs) => hs.map((h) => (h.textContent || "").trim()));
  const bodyText = await page.evaluate(() => document.body.textContent || "");
  for (const [method, p] of REQUIRED_OPERATIONS) {
    const op = spec.paths[p] && spec.paths[p][method.toLowerCase()];
    check(op, `/openapi.json has no ${method} ${p}`);
    const label = op.summary || op.operationId || p;
    check(menu.some((t) => t.includes(label)), `/redoc side menu does not list ${method} ${p} ("${label}")`);
    check(headings.some((h) => h.includes(label)), `/redoc has no heading for ${method} ${p} ("${label}")`);
    check(bodyText.includes(p), `/redoc does not show the path ${p}`);
  }
  await page.screenshot({ path: path.join(shots, "redoc.png") });
}

// ---- main --------------------------------------------------------------------------------------

async function main() {
  const bin = requireEnv("INTAKE_BIN");
  const shots = requireEnv("INTAKE_SCREENSHOTS");
  fs.mkdirSync(shots, { recursive: true });
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)`);
  }

  const server = new IntakeServer(bin);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "intake-chromium-"));
  let context = null;
  const problems = [];
  try {
    await server.start();
    log(`intake serve on ${server.url} (pid ${server.proc.pid})`);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
      viewport: { width: 1360, height: 900 }, timeout: 60000,
    });
    context.setDefaultTimeout(30000);
    const newPage = async (label) => {
      const page = await context.newPage();
      watchPage(page, label, problems);
      return page;
    };

    let taskId = null;
    await section("/docs lists the operations and runs POST /ingest through Try it out", async () => {
      taskId = await testDocs(await newPage("/docs"), server.url, shots);
    });
    await section("/dashboard follows the tasks, shows row errors, the chart and patient search", async () => {
      await testDashboard(await newPage("/dashboard"), server.url, shots, taskId);
    });
    await section("/redoc lists the operations", async () => {
      await testRedoc(await newPage("/redoc"), server.url, shots);
    });
    await section("no console errors and no request to another host", async () => {
      check(problems.length === 0, `\n  ${problems.join("\n  ")}`);
    });
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
    try {
      const code = await server.stop();
      if (code !== undefined && code !== 0) failures.push(`intake serve exited with ${code} after SIGTERM`);
    } catch (e) {
      failures.push(e.message);
    }
    if (failures.length) log(server.logTail());
    server.removeTemp();
  }
  log(`screenshots in ${shots}`);
  if (failures.length) {
    console.error(`\nbrowser test FAILED (${failures.length}):\n- ${failures.join("\n- ")}`);
    process.exit(1);
  }
  log("browser test passed");
}

main().catch((e) => {
  console.error(`browser test FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
