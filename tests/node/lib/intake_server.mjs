// Starts `$INTAKE_BIN serve` on a free 127.0.0.1 port with a fresh temporary DATA_DIR (SQLite,
// folder object store, in-process workers) and stops it by pid with SIGTERM. The server's output
// goes to a log file in the temp dir; logTail() returns its end for failure messages.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (ctest sets it; run through 'make test' or set it by hand)`);
  return value;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class IntakeServer {
  constructor(bin, extraEnv = {}) {
    this.bin = bin;
    this.extraEnv = extraEnv;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "intake-node-"));
    this.logPath = path.join(this.tmp, "serve.log");
    this.proc = null;
    this.exitCode = undefined;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 20000) {
    this.port = await freePort();
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME || this.tmp,
      HOST: "127.0.0.1",
      PORT: String(this.port),
      DATA_DIR: path.join(this.tmp, "data"),
      LOG_LEVEL: "warning",
      WORKER_CONCURRENCY: "1",
      ...this.extraEnv,
    };
    const log = fs.openSync(this.logPath, "w");
    this.proc = spawn(this.bin, ["serve"], { cwd: this.tmp, env, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    this.proc.on("exit", (code, signal) => { this.exitCode = code ?? signal; });
    const deadline = Date.now() + timeoutMs;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (this.exitCode !== undefined) {
        throw new Error(`intake serve exited (${this.exitCode}) before answering /health\n${this.logTail()}`);
      }
      try {
        const r = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
        if (r.status === 200) return this;
        last = `status ${r.status}`;
      } catch (e) {
        last = e.message;
      }
      await sleep(100);
    }
    throw new Error(`GET /health did not answer 200 within ${timeoutMs} ms (${last})\n${this.logTail()}`);
  }

  logTail(chars = 3000) {
    try {
      const text = fs.readFileSync(this.logPath, "utf8");
      return `--- intake serve log (tail) ---\n${text.slice(-chars)}`;
    } catch {
      return "(no server log)";
    }
  }

  // SIGTERM by pid, wait up to timeoutMs, then SIGKILL. Resolves to the exit code or signal.
  async stop(timeoutMs = 20000) {
    if (!this.proc) return undefined;
    if (this.exitCode === undefined) {
      const exited = new Promise((r) => this.proc.once("exit", () => r()));
      process.kill(this.proc.pid, "SIGTERM");
      const timedOut = await Promise.race([exited.then(() => false), sleep(timeoutMs).then(() => true)]);
      if (timedOut && this.exitCode === undefined) {
        process.kill(this.proc.pid, "SIGKILL");
        await exited;
        throw new Error(`intake serve did not exit within ${timeoutMs} ms of SIGTERM`);
      }
    }
    return this.exitCode;
  }

  removeTemp() {
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
