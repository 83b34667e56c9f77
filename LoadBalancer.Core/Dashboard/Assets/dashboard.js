// lb's live dashboard: plain JS, no build step, no network beyond this admin listener. It polls the compact JSON of
// /api/dashboard once a second (one page of tenants, or one tenant's detail, or one page of pools) and draws the
// server's 15-minute history on <canvas>. With [admin] token set, it asks for the token and keeps it in sessionStorage.
"use strict";
(function () {
  const TOKEN_KEY = "lb.admin.token";
  const THEME_KEY = "lb.dashboard.theme";
  const PAGE = 50;
  const state = { view: "tenants", tenant: null, offset: 0, poolOffset: 0, role: "write", timer: 0, busy: false, data: null };
  const $ = (id) => document.getElementById(id);

  // ---- small helpers -------------------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === undefined || value === null || value === false) continue;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : value);
      }
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }
  const num = (v) => {
    if (v === null || v === undefined) return "–";
    const a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
    if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(a === 0 ? 0 : 2);
  };
  const bytes = (v) => {
    if (v === null || v === undefined) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
  };
  // Latency quantiles come from histogram buckets whose first bound is 1 ms: below it only "< 1 ms" is known.
  const ms = (v) => v === null || v === undefined ? "–" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : v >= 10 ? v.toFixed(0) + " ms" : v > 1 ? v.toFixed(1) + " ms" : "< 1 ms";
  const pct = (v) => v === null || v === undefined ? "–" : (v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1) + "%";
  const ago = (iso) => {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 60 ? s + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
  };
  const duration = (s) => s < 3600 ? Math.round(s / 60) + " min" : s < 86400 ? (s / 3600).toFixed(1) + " h" : (s / 86400).toFixed(1) + " d";

  // ---- theme ---------------------------------------------------------------------------------------------------
  function applyTheme(theme) {
    document.documentElement.dataset.theme = theme;
  }
  const systemDark = matchMedia("(prefers-color-scheme: dark)");
  applyTheme(localStorage.getItem(THEME_KEY) || (systemDark.matches ? "dark" : "light"));
  // Until the button picks one, the page follows the system's setting, also when it changes with the page open.
  systemDark.addEventListener("change", () => {
    if (localStorage.getItem(THEME_KEY)) return;
    applyTheme(systemDark.matches ? "dark" : "light");
    if (state.data) render(state.data);
  });
  $("theme").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem(THEME_KEY, next);
    applyTheme(next);
    if (state.data) render(state.data);
  });

  // ---- charts --------------------------------------------------------------------------------------------------
  function color(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  // A line over the series (oldest first), scaled to its own maximum; `fixedMax` for shares (0..1).
  function draw(canvas, values, fixedMax) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 180, h = canvas.clientHeight || 24;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    const slots = 91; // 90 finished slots and the one in progress
    if (!values || values.length === 0) {
      g.strokeStyle = color("--line");
      g.beginPath(); g.moveTo(0, h - 1); g.lineTo(w, h - 1); g.stroke();
      return;
    }
    let max = fixedMax || 0;
    for (const v of values) if (v > max) max = v;
    if (max <= 0) max = 1;
    const step = w / (slots - 1);
    const x0 = w - (values.length - 1) * step;
    const y = (v) => h - 1 - (Math.max(0, v) / max) * (h - 3);
    g.beginPath();
    g.moveTo(x0, h);
    values.forEach((v, i) => g.lineTo(x0 + i * step, y(v)));
    g.lineTo(x0 + (values.length - 1) * step, h);
    g.closePath();
    g.fillStyle = color("--accent-fill");
    g.fill();
    g.beginPath();
    values.forEach((v, i) => (i === 0 ? g.moveTo(x0, y(v)) : g.lineTo(x0 + i * step, y(v))));
    g.strokeStyle = color("--accent");
    g.lineWidth = 1.25;
    g.stroke();
  }

  // ---- fetching ------------------------------------------------------------------------------------------------
  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }
  async function api(path, options) {
    const headers = {};
    const t = token();
    if (t) headers.Authorization = "Bearer " + t;
    const response = await fetch(path, Object.assign({ headers, cache: "no-store" }, options || {}));
    if (response.status === 401) {
      askToken(t ? "That token was refused." : "");
      throw new Error("unauthorized");
    }
    return response;
  }
  function askToken(message) {
    $("login-error").textContent = message;
    const dialog = $("login");
    if (!dialog.open) dialog.showModal();
  }
  $("login-form").addEventListener("submit", () => {
    sessionStorage.setItem(TOKEN_KEY, $("login-token").value);
    $("login-token").value = "";
    refresh();
  });
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });

  function query(params) {
    const parts = [];
    for (const [key, value] of Object.entries(params)) {
      if (value !== "" && value !== null && value !== undefined) parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
    }
    return parts.length ? "?" + parts.join("&") : "";
  }

  async function refresh() {
    clearTimeout(state.timer);
    if (state.busy) return;
    state.busy = true;
    try {
      const summary = await (await api("/api/dashboard" + query({
        q: $("tenant-filter").value.trim(), sort: $("tenant-sort").value, offset: state.offset, limit: PAGE,
      }))).json();
      let detail = null, pools = null;
      if (state.view === "tenant" && state.tenant !== null) {
        const response = await api("/api/dashboard/tenants/" + encodeURIComponent(state.tenant));
        detail = response.ok ? await response.json() : { missing: true, name: state.tenant };
      } else if (state.view === "pools") {
        pools = await (await api("/api/dashboard/pools" + query({ q: $("pool-filter").value.trim(), offset: state.poolOffset, limit: PAGE }))).json();
      }
      state.data = { summary, detail, pools };
      render(state.data);
      setStatus("live · updated " + new Date().toLocaleTimeString(), false);
    } catch (e) {
      if (e.message !== "unauthorized") setStatus("lb unreachable: " + e.message, true);
    } finally {
      state.busy = false;
      if (!$("login").open) state.timer = setTimeout(refresh, 1000);
    }
  }
  function setStatus(text, bad) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("bad", bad);
  }

  // ---- rendering -----------------------------------------------------------------------------------------------
  function render({ summary, detail, pools }) {
    state.role = summary.role;
    $("signout").hidden = !token();
    renderHeader(summary);
    $("view-tenants").hidden = state.view !== "tenants";
    $("view-tenant").hidden = state.view !== "tenant";
    $("view-pools").hidden = state.view !== "pools";
    $("tab-tenants").classList.toggle("active", state.view !== "pools");
    $("tab-pools").classList.toggle("active", state.view === "pools");
    if (state.view === "tenants") renderTenants(summary);
    if (state.view === "tenant" && detail) renderTenant(detail);
    if (state.view === "pools" && pools) renderPools(pools);
  }

  function renderHeader(s) {
    const c = s.config, p = s.process, last = c.last_reload;
    const facts = [
      el("span", null, "config ", el("b", { text: c.version.slice(0, 12), title: c.version }), " #" + c.generation),
      el("span", null, "applied ", el("b", { text: ago(c.applied_at) })),
    ];
    if (last) {
      facts.push(el("span", { id: "last-reload" }, "last reload ",
        el("b", { class: last.result === "rejected" ? "bad" : "", text: last.result }), " " + ago(last.at)));
    }
    $("config").replaceChildren(...facts);
    $("process").replaceChildren(
      el("span", null, "CPU ", el("b", { text: p.cpu.toFixed(1) + "%" }), " of " + p.cores),
      el("span", null, "RSS ", el("b", { text: bytes(p.working_set) })),
      el("span", null, "heap ", el("b", { text: bytes(p.heap) })),
      el("span", null, "alloc ", el("b", { text: bytes(p.alloc) + "/s" })),
      el("span", null, "GC ", el("b", { text: p.gc.join(" / ") }), " (gen0/1/2)"),
      el("span", null, "pool threads ", el("b", { text: String(p.thread_pool) })),
      el("span", null, "up ", el("b", { text: duration(p.uptime) })));

    const box = $("reload-errors");
    if (c.rejected) {
      box.hidden = false;
      box.replaceChildren(
        el("b", { text: "Reload rejected " + ago(c.rejected.at) + ": " + c.rejected.summary }),
        el("pre", { text: c.rejected.errors.join("\n") }));
    } else {
      box.hidden = true;
    }

    const t = s.totals;
    const tile = (value, label, cls) => el("div", null, el("b", { text: value, class: cls }), el("span", { text: label }));
    $("totals").replaceChildren(
      tile(num(t.rps), "requests/s"),
      tile(pct(t.err), "errors", t.err > 0.01 ? "bad" : ""),
      tile(bytes(t.bytes) + "/s", "traffic"),
      tile(num(t.refused), "refused/s", t.refused > 0 ? "bad" : ""),
      tile(String(t.conns), "connections"),
      tile(String(t.tenants), "tenants"),
      tile(t.backends - t.backends_unavailable + " / " + t.backends, "backends available", t.backends_unavailable > 0 ? "bad" : ""));
  }

  function renderTenants(s) {
    const body = $("tenant-rows");
    const rows = [];
    const sparks = [];
    for (const t of s.tenants) {
      const canvas = el("canvas", { class: "spark" });
      sparks.push([canvas, t.spark]);
      rows.push(el("tr", { "data-tenant": t.name, onclick: () => { location.hash = "#tenant/" + encodeURIComponent(t.name); } },
        el("td", { class: "name", title: t.name }, el("a", { href: "#tenant/" + encodeURIComponent(t.name), text: t.name })),
        el("td", null, canvas),
        el("td", { class: "rps", text: num(t.rps) }),
        el("td", { class: t.err > 0.01 ? "err bad" : "err", text: pct(t.err) }),
        el("td", { class: "p50", text: ms(t.p50) }),
        el("td", { class: "p99", text: ms(t.p99) }),
        el("td", { class: "conns", text: String(t.conns) }),
        el("td", { class: t.refused > 0 ? "refused bad" : "refused", text: num(t.refused) }),
        el("td", { class: "bytes", text: bytes(t.bytes) + "/s" })));
    }
    if (rows.length === 0) rows.push(el("tr", null, el("td", { colspan: 9, class: "muted", text: "no tenant matches" })));
    body.replaceChildren(...rows);
    for (const [canvas, values] of sparks) draw(canvas, values);
    const end = Math.min(s.offset + s.tenants.length, s.matched);
    $("tenant-range").textContent = s.matched === 0 ? "0 of 0" : (s.offset + 1) + "–" + end + " of " + s.matched;
    $("tenant-prev").disabled = s.offset === 0;
    $("tenant-next").disabled = end >= s.matched;
  }

  const SERIES = [
    ["rps", "requests/s", num], ["err", "error rate", pct, 1], ["p50", "p50 latency", ms], ["p99", "p99 latency", ms],
    ["conns", "connections", num], ["refused", "refused/s", num], ["bytes", "bytes/s", (v) => bytes(v) + "/s"],
  ];
  const CURRENT = { rps: "rps", err: "err", p50: "p50", p99: "p99", conns: "conns", refused: "refused", bytes: "bytes" };

  function renderTenant(d) {
    $("tenant-name").textContent = d.name;
    if (d.missing) {
      $("tenant-limits").textContent = "no such tenant in the running configuration";
      return;
    }
    const limits = [];
    if (d.limits.rate_limit !== null) limits.push("rate_limit " + d.limits.rate_limit + "/s (burst " + d.limits.burst + ")");
    if (d.limits.max_connections !== null) limits.push("max_connections " + d.limits.max_connections);
    if (d.limits.max_in_flight !== null) limits.push("max_in_flight " + d.limits.max_in_flight);
    $("tenant-limits").textContent = (d.pool ? "pool " + d.pool + " · " : "") + (limits.join(" · ") || "no limits") + " · history in " + d.slot_seconds + " s slots";

    const charts = [];
    const canvases = [];
    for (const [key, label, format, fixedMax] of SERIES) {
      const canvas = el("canvas");
      canvases.push([canvas, d.series[key], fixedMax]);
      charts.push(el("div", { class: "chart", "data-series": key },
        el("div", { class: "head" }, el("span", { text: label }), el("b", { text: format(d[CURRENT[key]]) })), canvas));
    }
    $("tenant-charts").replaceChildren(...charts);
    for (const [canvas, values, fixedMax] of canvases) draw(canvas, values, fixedMax);

    $("tenant-refusals").replaceChildren(...Object.entries(d.refused_by_reason).map(([reason, rate]) =>
      el("span", { class: rate > 0 ? "on" : "", "data-reason": reason, text: reason + " " + num(rate) })));

    const meterRow = (m, withPool) => el("tr", { "data-name": m.name },
      el("td", { class: "name", text: m.name }),
      withPool ? el("td", { text: m.pool || "–" }) : null,
      el("td", { text: num(m.rps) }), el("td", { class: m.err > 0.01 ? "bad" : "", text: pct(m.err) }),
      el("td", { text: ms(m.p50) }), el("td", { text: ms(m.p99) }), el("td", { text: bytes(m.bytes) + "/s" }), el("td", { text: num(m.total) }));
    const empty = (cols, text) => [el("tr", null, el("td", { colspan: cols, class: "muted", text }))];
    $("route-rows").replaceChildren(...(d.routes.length ? d.routes.map((r) => meterRow(r, true)) : empty(8, "no routes: every request goes to the tenant's pool")));
    $("consumer-rows").replaceChildren(...(d.consumers.length ? d.consumers.map((c) => meterRow(c, false)) : empty(7, "no consumers")));
    $("tenant-pools").replaceChildren(...d.pools.map(poolBlock));
  }

  function renderPools(p) {
    $("pool-list").replaceChildren(...(p.pools.length ? p.pools.map(poolBlock) : [el("p", { class: "muted", text: "no pool matches" })]));
    const end = Math.min(p.offset + p.pools.length, p.matched);
    $("pool-range").textContent = p.matched === 0 ? "0 of 0" : (p.offset + 1) + "–" + end + " of " + p.matched;
    $("pool-prev").disabled = p.offset === 0;
    $("pool-next").disabled = end >= p.matched;
  }

  function poolBlock(pool) {
    const writable = state.role === "write";
    const rows = pool.backends.map((b) => el("tr", { "data-pool": pool.name, "data-backend": b.address },
      el("td", { class: "name", text: b.address }),
      el("td", null, el("span", { class: "state state-" + b.state, text: b.state })),
      el("td", { class: "in-flight", text: String(b.in_flight) }),
      el("td", { text: b.weight + (b.effective_weight < b.weight ? " (" + num(b.effective_weight) + ")" : "") }),
      el("td", { text: num(b.rps) }),
      el("td", { text: num(b.requests) }),
      el("td", { text: String(b.connect_failures) }),
      writable ? el("td", null, b.state === "drained"
        ? el("button", { type: "button", class: "enable", onclick: () => backendAction(pool.name, b.address, "enable") }, "enable")
        : el("button", { type: "button", class: "drain", onclick: () => backendAction(pool.name, b.address, "drain") }, "drain")) : null));
    return el("div", { class: "pool", "data-pool": pool.name },
      el("h4", null, pool.name + " ", el("span", { text: pool.balancer })),
      el("table", { class: "grid" },
        el("thead", null, el("tr", null, ...["backend", "state", "in flight", "weight", "req/s", "requests", "connect failures"].map((h) => el("th", { text: h })),
          writable ? el("th", { text: "" }) : null)),
        el("tbody", null, ...rows)));
  }

  async function backendAction(pool, address, action) {
    try {
      const response = await api("/api/pools/" + encodeURIComponent(pool) + "/backends/" + encodeURIComponent(address) + "/" + action, { method: "POST" });
      if (!response.ok) setStatus(action + " failed: " + (await response.text()), true);
    } catch (e) {
      if (e.message !== "unauthorized") setStatus(action + " failed: " + e.message, true);
    }
    refresh();
  }

  // ---- navigation ----------------------------------------------------------------------------------------------
  function route() {
    const hash = location.hash || "#tenants";
    if (hash.startsWith("#tenant/")) {
      state.view = "tenant";
      state.tenant = decodeURIComponent(hash.slice("#tenant/".length));
    } else {
      state.view = hash === "#pools" ? "pools" : "tenants";
      state.tenant = null;
    }
    refresh();
  }
  window.addEventListener("hashchange", route);
  let typing = 0;
  const refilter = (reset) => () => { clearTimeout(typing); typing = setTimeout(() => { reset(); refresh(); }, 200); };
  $("tenant-filter").addEventListener("input", refilter(() => { state.offset = 0; }));
  $("tenant-sort").addEventListener("change", () => { state.offset = 0; refresh(); });
  $("pool-filter").addEventListener("input", refilter(() => { state.poolOffset = 0; }));
  $("tenant-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); refresh(); });
  $("tenant-next").addEventListener("click", () => { state.offset += PAGE; refresh(); });
  $("pool-prev").addEventListener("click", () => { state.poolOffset = Math.max(0, state.poolOffset - PAGE); refresh(); });
  $("pool-next").addEventListener("click", () => { state.poolOffset += PAGE; refresh(); });
  route();
})();
