// GET /openapi.json through a real OpenAPI 3.1 validator, and the offline documentation pages
// (/docs, /redoc): they answer HTML that loads only Intake's own /assets/... and /openapi.json, and
// every asset they reference is served. Runs the real binary ($INTAKE_BIN serve) on a free port.
import assert from "node:assert/strict";
import test from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";

import { IntakeServer, requireEnv } from "./lib/intake_server.mjs";

// The URLs a page loads or links to: src= and href= attribute values, plus quoted absolute URLs
// and quoted root-relative paths in inline text (e.g. a spec-url attribute or a script).
function referencedUrls(html) {
  const urls = new Set();
  for (const m of html.matchAll(/\b(?:src|href|spec-url|url)\s*[=:]\s*["']([^"']+)["']/gi)) urls.add(m[1]);
  for (const m of html.matchAll(/["'(]((?:https?:)?\/\/[^"')\s]+)/gi)) urls.add(m[1]);
  return [...urls];
}

const intake = await new IntakeServer(requireEnv("INTAKE_BIN")).start();
const server = { base: intake.url };
test.after(async () => {
  const code = await intake.stop();
  intake.removeTemp();
  assert.equal(code, 0, "intake serve did not exit 0 on SIGTERM");
});

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
