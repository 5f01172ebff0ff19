// GET /openapi.json through a real OpenAPI 3.1 validator, and the offline documentation pages
// (/docs, /redoc): they answer HTML that loads only Intake's own /assets/... and /openapi.json, and
// every asset they reference is served. Runs the real binary ($INTAKE_BIN serve) on a free port.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";

// Configuration variables the server reads; cleared so the caller's environment cannot redirect it.
const CONFIG_VARS = [
  "HOST", "PORT", "DATA_DIR", "DATABASE_URL", "OBJECT_STORE", "S3_ENDPOINT_URL", "BROKER_URL",
  "CELERY_BROKER_URL", "WORKER_CONCURRENCY", "LOG_LEVEL", "LOG_FORMAT", "LOG_PHI",
  "MAX_BODY_BYTES", "MAX_UPLOAD_BYTES", "MAX_RECORDS_PER_REQUEST",
];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const bin = process.env.INTAKE_BIN;
  assert.ok(bin, "INTAKE_BIN must name the built intake binary");
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "intake-openapi-"));
  const port = await freePort();
  const env = { ...process.env };
  for (const name of CONFIG_VARS) delete env[name];
  Object.assign(env, { HOST: "127.0.0.1", PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: "warning" });
  const child = spawn(bin, ["serve"], { env, cwd: dataDir, stdio: ["ignore", "inherit", "inherit"] });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`intake serve exited early (${child.exitCode})`);
    try {
      const r = await fetch(`${base}/health`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error("intake serve did not answer /health within 30 s");
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGTERM");
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  };
  return { base, stop };
}

// The URLs a page loads or links to: src= and href= attribute values, plus quoted absolute URLs
// and quoted root-relative paths in inline text (e.g. a spec-url attribute or a script).
function referencedUrls(html) {
  const urls = new Set();
  for (const m of html.matchAll(/\b(?:src|href|spec-url|url)\s*[=:]\s*["']([^"']+)["']/gi)) urls.add(m[1]);
  for (const m of html.matchAll(/["'(]((?:https?:)?\/\/[^"')\s]+)/gi)) urls.add(m[1]);
  return [...urls];
}

const server = await startServer();
test.after(() => server.stop());

test("GET /openapi.json is a valid OpenAPI 3.1 document", async () => {
  const r = await fetch(`${server.base}/openapi.json`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
  const doc = await r.json();
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  const validator = new Validator();
  const result = await validator.validate(doc);
  if (!result.valid) console.error(JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, "3.1");
  assert.equal(result.valid, true, "openapi.json does not validate against the OpenAPI 3.1 schema");
});

for (const page of ["/docs", "/redoc"]) {
  test(`GET ${page} is offline HTML loading only Intake's own files`, async () => {
    const r = await fetch(`${server.base}${page}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^text\/html/);
    const html = await r.text();
    const pending = [html];
    const seen = new Set();
    let sawOpenApi = false;
    // The page and the own scripts / styles it loads (not the npm bundles, which merely mention
    // URLs in their code) must reference nothing outside this server.
    while (pending.length > 0) {
      const text = pending.pop();
      for (const url of referencedUrls(text)) {
        if (seen.has(url)) continue;
        seen.add(url);
        assert.ok(!/^(?:https?:)?\/\//i.test(url), `${page} references an external URL: ${url}`);
        if (url === "/openapi.json") {
          sawOpenApi = true;
          continue;
        }
        assert.ok(url.startsWith("/assets/"), `${page} references ${url}, not /assets/... or /openapi.json`);
        const asset = await fetch(`${server.base}${url}`);
        assert.equal(asset.status, 200, `${page}: ${url} answers ${asset.status}`);
        const body = await asset.text();
        const ownFile = !url.startsWith("/assets/swagger-ui/") && !url.startsWith("/assets/redoc/");
        if (ownFile) pending.push(body);
      }
    }
    assert.ok(sawOpenApi, `${page} does not load /openapi.json`);
  });
}

test("/docs loads Swagger UI and /redoc loads ReDoc from /assets", async () => {
  const docs = await (await fetch(`${server.base}/docs`)).text();
  assert.ok(docs.includes("/assets/swagger-ui/swagger-ui-bundle.js"));
  assert.ok(docs.includes("/assets/swagger-ui/swagger-ui.css"));
  assert.ok(docs.includes("<title>Intake API — Swagger UI</title>"));
  const redoc = await (await fetch(`${server.base}/redoc`)).text();
  assert.ok(redoc.includes("/assets/redoc/redoc.standalone.js"));
  assert.match(redoc, /spec-url="\/openapi\.json"/);
});
