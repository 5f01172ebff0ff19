// Intake operations dashboard. Uses only the read API (GET /tasks, /tasks/{id}, /patients,
// /metrics) from the same origin. Every value reaches the DOM through textContent or
// setAttribute, never as markup.
"use strict";

(() => {
  const FAST_MS = 1000; // while any task is pending or running
  const SLOW_MS = 5000; // otherwise
  const TASK_ROWS = 20; // tasks shown in the table
  const TASK_PAGE_SIZE = 100; // tasks read for the chart (the API's largest page)
  const CHART_MINUTES = 60;
  const ACTIVE = new Set(["PENDING", "STARTED", "PROGRESS"]);
  const COUNTERS = [
    ["total_records", "Total rows"],
    ["processed_records", "Processed"],
    ["patients_created", "Patients created"],
    ["patients_updated", "Patients updated"],
    ["patients_unchanged", "Patients unchanged"],
    ["visits_created", "Visits created"],
    ["visits_updated", "Visits updated"],
    ["visits_unchanged", "Visits unchanged"],
    ["error_count", "Rejected rows"],
  ];

  const state = {
    tasks: [], // the newest TASK_ROWS
    recent: [], // the newest TASK_PAGE_SIZE
    total: 0,
    details: new Map(), // task_id -> {key, body}; key = status + finished_at
    selected: null,
    timer: null,
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "class") node.className = v;
      else node.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  async function getJson(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${path.split("?")[0]} answered ${response.status}`);
    return response.json();
  }

  function setConnection(ok, text) {
    const c = $("connection");
    c.textContent = text;
    c.classList.toggle("bad", !ok);
  }

  function fmtTime(iso) {
    if (!iso) return "–";
    return String(iso).replace("T", " ").replace("Z", "");
  }

  function fmtNum(n) {
    return typeof n === "number" ? n.toLocaleString("en-US") : "–";
  }

  function detailKey(t) {
    return `${t.status}|${t.finished_at || ""}`;
  }

  // ---- tasks ---------------------------------------------------------------------------------

  async function refreshTasks() {
    const page = await getJson(`/tasks?page=1&page_size=${TASK_PAGE_SIZE}`);
    state.recent = Array.isArray(page.tasks) ? page.tasks : [];
    state.tasks = state.recent.slice(0, TASK_ROWS);
    state.total = page.total || 0;
    const since = Date.now() - CHART_MINUTES * 60000;
    const shown = new Set(state.tasks.map((t) => t.task_id));
    const needed = state.recent.filter((t) => shown.has(t.task_id) ||
      (t.status === "SUCCESS" && t.finished_at && Date.parse(t.finished_at) >= since));
    const keep = new Set(needed.map((t) => t.task_id));
    for (const id of [...state.details.keys()]) if (!keep.has(id)) state.details.delete(id);
    // Running tasks change every tick; finished ones only when replayed (the key changes).
    const wanted = needed.filter((t) => {
      const cached = state.details.get(t.task_id);
      return t.status !== "PENDING" && (ACTIVE.has(t.status) || !cached || cached.key !== detailKey(t));
    });
    await Promise.all(wanted.map(async (t) => {
      try {
        const body = await getJson(`/tasks/${encodeURIComponent(t.task_id)}`);
        state.details.set(t.task_id, { key: detailKey(t), body });
      } catch (_) {
        // Shown as unknown counters until the next tick.
      }
    }));
    renderTasks();
  }

  function progressOf(task) {
    const d = state.details.get(task.task_id);
    const result = d && d.body && d.body.result;
    if (task.status === "SUCCESS") return { percent: 100, text: "done" };
    if (task.status === "FAILURE") return { percent: 100, text: "failed" };
    if (!result || typeof result.percent !== "number") return { percent: 0, text: "queued" };
    return { percent: result.percent, text: `${fmtNum(result.current)} / ${fmtNum(result.total)}` };
  }

  function countersOf(taskId) {
    const d = state.details.get(taskId);
    const r = d && d.body && d.body.result;
    return r && typeof r === "object" && typeof r.processed_records === "number" ? r : null;
  }

  function badge(status) {
    return el("span", { class: `badge s-${String(status).toLowerCase()}` }, status);
  }

  function progressCell(task) {
    const p = progressOf(task);
    const bar = el("div", { class: "bar" });
    bar.style.width = `${Math.max(0, Math.min(100, p.percent))}%`;
    return el("td", { class: "progress-cell" },
      el("div", { class: `progress s-${task.status.toLowerCase()}`, role: "progressbar",
        "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": p.percent }, bar),
      el("span", { class: "small muted" }, p.text));
  }

  function renderTasks() {
    const body = $("tasks").tBodies[0];
    const rows = state.tasks.map((t) => {
      const c = countersOf(t.task_id);
      const pair = (a, b) => (c ? `${fmtNum(c[a])} / ${fmtNum(c[b])}` : "–");
      const tr = el("tr", { "data-task-id": t.task_id, "data-status": t.status, tabindex: 0,
        "aria-selected": t.task_id === state.selected ? "true" : "false" },
        el("td", { class: "mono", title: t.task_id }, t.task_id.slice(0, 8)),
        el("td", { class: "status" }, badge(t.status)),
        progressCell(t),
        el("td", { class: "num" }, fmtNum(t.records_received)),
        el("td", { class: "num" }, pair("patients_created", "patients_updated")),
        el("td", { class: "num" }, pair("visits_created", "visits_updated")),
        el("td", { class: `num${c && c.error_count > 0 ? " warn" : ""}` }, c ? fmtNum(c.error_count) : "–"),
        el("td", { class: "small" }, fmtTime(t.created_at)),
        el("td", { class: "small" }, fmtTime(t.finished_at)));
      return tr;
    });
    const focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("tr[data-task-id]") : null;
    body.replaceChildren(...rows);
    if (focused) {
      const again = rows.find((r) => r.dataset.taskId === focused.dataset.taskId);
      if (again) again.focus();
    }
    $("tasks-empty").hidden = rows.length > 0;
    $("tasks-summary").textContent =
      state.total > rows.length ? `newest ${rows.length} of ${fmtNum(state.total)}` : `${rows.length} task(s)`;
  }

  function selectTask(taskId) {
    state.selected = taskId;
    history.replaceState(null, "", `#task=${encodeURIComponent(taskId)}`);
    for (const tr of $("tasks").tBodies[0].rows) {
      tr.setAttribute("aria-selected", tr.dataset.taskId === taskId ? "true" : "false");
    }
    refreshSelected().catch(showError);
  }

  async function refreshSelected() {
    if (!state.selected) return;
    const id = state.selected;
    let body;
    try {
      body = await getJson(`/tasks/${encodeURIComponent(id)}`);
    } catch (e) {
      if (state.selected !== id) return;
      $("detail-body").hidden = true;
      $("detail-status").hidden = true;
      $("detail-hint").hidden = false;
      $("detail-hint").textContent = `Cannot show the selected task: ${e.message}.`;
      return;
    }
    if (state.selected === id) renderDetail(body);
  }

  function renderDetail(task) {
    const result = task.result && typeof task.result === "object" ? task.result : {};
    $("detail-hint").hidden = true;
    $("detail-body").hidden = false;
    $("task-detail").dataset.taskId = task.task_id;
    $("task-detail").dataset.status = task.status;
    const s = $("detail-status");
    s.hidden = false;
    s.textContent = task.status;
    s.className = `badge s-${String(task.status).toLowerCase()}`;
    $("detail-id").textContent = task.task_id;
    $("detail-file").textContent = result.csv_filename || "–";

    let percent = 0;
    let text = "Waiting for a worker.";
    if (task.status === "SUCCESS") { percent = 100; text = "Completed."; }
    else if (task.status === "FAILURE") { percent = 100; text = "Failed."; }
    else if (typeof result.percent === "number") {
      percent = result.percent;
      text = `${fmtNum(result.current)} of ${fmtNum(result.total)} rows (${result.percent}%)`;
    }
    $("detail-bar").style.width = `${percent}%`;
    $("detail-bar").parentElement.className = `progress big s-${String(task.status).toLowerCase()}`;
    $("detail-progress").textContent = text;

    const failure = $("detail-failure");
    failure.hidden = !result.error;
    failure.textContent = result.error ? `Reason: ${result.error}` : "";

    const items = [];
    for (const [key, label] of COUNTERS) {
      if (typeof result[key] !== "number") continue;
      items.push(el("div", { class: "counter", "data-counter": key },
        el("dt", {}, label), el("dd", {}, fmtNum(result[key]))));
    }
    $("counters").replaceChildren(...items);

    const errors = Array.isArray(result.errors) ? result.errors : null;
    const table = $("task-errors");
    $("errors-count").textContent = errors
      ? (result.error_count > errors.length ? `(first ${errors.length} of ${fmtNum(result.error_count)})`
        : `(${errors.length})`)
      : "";
    $("errors-empty").hidden = !(errors && errors.length === 0);
    $("errors-empty").textContent = errors ? "No row errors." : "";
    table.hidden = !(errors && errors.length > 0);
    table.tBodies[0].replaceChildren(...(errors || []).map((e) =>
      el("tr", {},
        el("td", { class: "num row" }, e.row),
        el("td", { class: "field mono" }, e.field === null || e.field === undefined ? "(row)" : e.field),
        el("td", { class: "message" }, e.message))));
  }

  // ---- metrics and chart ---------------------------------------------------------------------

  function metricValue(text, name, labels) {
    for (const line of text.split("\n")) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      if (labels ? !rest.startsWith(`{${labels}}`) : !(rest.startsWith(" ") || rest.startsWith("{}"))) continue;
      const n = Number(rest.trim().split(/\s+/).pop());
      if (Number.isFinite(n)) return n;
    }
    return null;
  }

  async function refreshMetrics() {
    const response = await fetch("/metrics");
    if (!response.ok) return;
    const text = await response.text();
    const show = (id, v) => { $(id).textContent = v === null ? "–" : fmtNum(v); };
    show("total-accepted", metricValue(text, "intake_records_total", 'outcome="accepted"'));
    show("total-loaded", metricValue(text, "intake_records_total", 'outcome="loaded"'));
    show("total-rejected", metricValue(text, "intake_records_total", 'outcome="rejected"'));
    show("queue-depth", metricValue(text, "intake_queue_depth", null));
  }

  // Loaded rows per minute, from finished tasks' counters bucketed by finished_at.
  function chartBuckets(now) {
    const end = Math.floor(now / 60000);
    const buckets = new Array(CHART_MINUTES).fill(0);
    for (const t of state.recent) {
      if (t.status !== "SUCCESS" || !t.finished_at) continue;
      const c = countersOf(t.task_id);
      if (!c) continue;
      const minute = Math.floor(Date.parse(t.finished_at) / 60000);
      const index = CHART_MINUTES - 1 - (end - minute);
      if (index >= 0 && index < CHART_MINUTES) buckets[index] += Math.max(0, c.processed_records - c.error_count);
    }
    return buckets;
  }

  function renderChart() {
    const NS = "http://www.w3.org/2000/svg";
    const svgEl = (tag, attrs, text) => {
      const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
      if (text !== undefined) n.textContent = String(text);
      return n;
    };
    const now = Date.now();
    const buckets = chartBuckets(now);
    const max = Math.max(...buckets);
    const W = 560, H = 200, L = 44, R = 8, T = 10, B = 26;
    const plotW = W - L - R, plotH = H - T - B;
    const top = max > 0 ? niceCeil(max) : 1;
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg"});
    for (const f of [0, 0.5, 1]) {
      const y = T + plotH - f * plotH;
      svg.append(svgEl("line", { x1: L, x2: W - R, y1: y, y2: y, class: "gridline" }));
      svg.append(svgEl("text", { x: L - 6, y: y + 4, class: "axis", "text-anchor": "end" }, Number.isInteger(top * f) ? fmtNum(top * f) : (top * f).toFixed(1)));
    }
    const slot = plotW / CHART_MINUTES;
    buckets.forEach((v, i) => {
      if (v <= 0) return;
      const h = (v / top) * plotH;
      const rect = svgEl("rect", { x: L + i * slot + 1, y: T + plotH - h, width: Math.max(1, slot - 2), height: h, class: "barfill" });
      const minute = new Date((Math.floor(now / 60000) - (CHART_MINUTES - 1 - i)) * 60000);
      rect.append(svgEl("title", {}, `${minute.toISOString().slice(11, 16)} UTC: ${fmtNum(v)} loaded`));
      svg.append(rect);
    });
    for (const [i, label] of [[0, "-60 min"], [30, "-30 min"], [CHART_MINUTES - 1, "now"]]) {
      svg.append(svgEl("text", { x: L + i * slot + slot / 2, y: H - 8, class: "axis",
        "text-anchor": i === 0 ? "start" : i === CHART_MINUTES - 1 ? "end" : "middle" }, label));
    }
    $("rate-chart").replaceChildren(svg);
    const total = buckets.reduce((a, b) => a + b, 0);
    const scope = state.total > state.recent.length ? ` (from the newest ${state.recent.length} tasks)` : "";
    $("chart-note").textContent = `${fmtNum(total)} rows loaded in the last hour${scope}.`;
  }

  function niceCeil(v) {
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  // ---- patients ------------------------------------------------------------------------------

  async function searchPatients(event) {
    event.preventDefault();
    const by = $("search-by").value;
    const q = $("search-q").value;
    if (!q.trim()) return;
    const status = $("search-status");
    status.textContent = "Searching…";
    try {
      const params = by === "mrn" ? [["mrn", q]] : [["first_name", q], ["last_name", q]];
      const pages = await Promise.all(params.map(([k, v]) =>
        getJson(`/patients?${new URLSearchParams({ [k]: v, page: "1", page_size: "50" })}`)));
      const byId = new Map();
      let total = 0;
      for (const p of pages) {
        total += p.total || 0;
        for (const patient of p.patients || []) byId.set(patient.id, patient);
      }
      const patients = [...byId.values()].sort((a, b) => a.id - b.id);
      renderPatients(patients);
      status.textContent = patients.length === 0 ? "No matching patients."
        : `${patients.length} patient(s)${total > patients.length && pages.some((p) => p.total > 50) ? " (first 50 per field; refine the search)" : ""}.`;
    } catch (e) {
      status.textContent = `Search failed: ${e.message}`;
    }
  }

  function renderPatients(patients) {
    const table = $("patients");
    table.hidden = patients.length === 0;
    table.tBodies[0].replaceChildren(...patients.map((p) => {
      const person = p.person || {};
      return el("tr", { "data-patient-id": p.id },
        el("td", { class: "num" }, p.id),
        el("td", { class: "mono mrn" }, p.mrn),
        el("td", {}, person.first_name),
        el("td", {}, person.last_name),
        el("td", { class: "num visits" }, Array.isArray(p.visits) ? p.visits.length : "–"));
    }));
  }

  // ---- loop ----------------------------------------------------------------------------------

  function showError(e) {
    setConnection(false, `API unreachable: ${e && e.message ? e.message : e}. Retrying…`);
  }

  async function tick() {
    let fast = false;
    try {
      await refreshTasks();
      await refreshSelected();
      await refreshMetrics();
      renderChart();
      fast = state.recent.some((t) => ACTIVE.has(t.status));
      setConnection(true, `Updated ${new Date().toISOString().slice(11, 19)} UTC${fast ? " · live" : ""}`);
    } catch (e) {
      showError(e);
    }
    state.timer = setTimeout(tick, fast ? FAST_MS : SLOW_MS);
  }

  function init() {
    const tbody = $("tasks").tBodies[0];
    tbody.addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-task-id]");
      if (tr) selectTask(tr.dataset.taskId);
    });
    tbody.addEventListener("keydown", (e) => {
      const tr = e.target.closest("tr[data-task-id]");
      if (tr && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); selectTask(tr.dataset.taskId); }
    });
    $("patient-search").addEventListener("submit", searchPatients);
    const m = /^#task=(.+)$/.exec(location.hash);
    if (m) state.selected = decodeURIComponent(m[1]);
    renderChart();
    tick();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
