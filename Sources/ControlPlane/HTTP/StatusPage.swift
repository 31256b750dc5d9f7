import Hummingbird
import NIOCore

/// `GET /_status`: the operator's live page, one self-contained document (HTML, CSS and JavaScript
/// inline; nothing fetched from elsewhere, since clusters often have no internet). It lists the pools
/// (`GET /v1/pools`, every 10 s) and shows one at a time: it polls `GET /v1/pools/{pool}/overview` at
/// the pool's heartbeat interval and draws what it answers. `#pool=NAME` in the address picks the pool
/// (a link to one pool's page); without it, `default` or the first. With `AUTH_TOKEN` set the browser's
/// login prompt (HTTP Basic, the token as the password) guards all of it.
enum StatusPage {
    static func response() -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                .xContentTypeOptions: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Rollcall status</title>
        <style>
          :root { --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec; --bg: #f6f7f9; --bad: #c62828; --good: #2e7d32; --warn: #b26a00; }
          * { box-sizing: border-box; }
          body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
          header { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); }
          header h1 { font-size: 18px; margin: 0; }
          header select { font: inherit; padding: 1px 4px; }
          main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); gap: 16px; padding: 16px 20px; }
          section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; min-width: 0; }
          section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 8px; }
          .wide { grid-column: 1 / -1; }
          table { border-collapse: collapse; width: 100%; }
          th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
          th { font-weight: 600; color: var(--muted); font-size: 12px; }
          td.num { text-align: right; font-variant-numeric: tabular-nums; }
          .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; vertical-align: -1px; margin-right: 6px; }
          .bar { display: inline-block; width: 80px; height: 6px; background: var(--line); border-radius: 3px; vertical-align: middle; margin-left: 6px; }
          .bar > i { display: block; height: 100%; border-radius: 3px; background: var(--good); }
          .pill { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; background: var(--line); }
          .ok { color: var(--good); } .bad { color: var(--bad); } .warn { color: var(--warn); } .muted { color: var(--muted); }
          #banner { display: none; margin: 12px 20px 0; padding: 8px 12px; border-radius: 6px; background: #fdecea; color: var(--bad); border: 1px solid #f5c2c0; }
          #grid { width: 100%; height: auto; display: block; }
          #legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 8px; font-size: 12px; }
          .events td { font-size: 12px; }
          .kind-leased, .kind-adopted { color: var(--good); } .kind-expired, .kind-recovery { color: var(--bad); } .kind-released { color: var(--warn); }
          @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
        </style>
        </head>
        <body>
        <header>
          <h1>Rollcall</h1>
          <label class="muted">pool <select id="pool" aria-label="the pool shown"></select></label>
          <span id="summary" class="muted">loading…</span>
          <span id="redis" class="muted"></span>
          <span id="updated" class="muted"></span>
        </header>
        <div id="banner" role="alert"></div>
        <main>
          <section class="wide">
            <h2>Live workers</h2>
            <table id="workers">
              <thead><tr><th>number</th><th>name</th><th>kind</th><th>epoch</th><th>lease left</th><th>partitions</th><th>revoked, held</th><th>consumer group</th><th>load</th></tr></thead>
              <tbody></tbody>
            </table>
          </section>
          <section>
            <h2 id="layout-title">Layout</h2>
            <svg id="grid" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="one cell per partition, coloured by owner"></svg>
            <div id="legend"></div>
            <p class="muted" style="font-size:12px;margin:6px 0 0">Each cell is a partition in the colour of the number holding its grant.
              Outlined: revoked, still held, moving to the owner named by the ring. Pale: its owner is granted it at its next heartbeat.
              Grey: nobody holds it.</p>
          </section>
          <section>
            <h2>Pending handoffs <span id="handoff-count" class="pill">0</span></h2>
            <table id="handoffs"><thead><tr><th>partition</th><th>held by</th><th>moving to</th></tr></thead><tbody></tbody></table>
            <h2 style="margin-top:14px">Numbers in quarantine</h2>
            <table id="quarantine"><thead><tr><th>number</th><th>free again in</th></tr></thead><tbody></tbody></table>
          </section>
          <section class="wide">
            <h2>Recent events</h2>
            <table id="events" class="events"><thead><tr><th>when</th><th>event</th><th>what</th></tr></thead><tbody></tbody></table>
          </section>
        </main>
        <script>
        "use strict";
        const SVG = "http://www.w3.org/2000/svg";
        const el = id => document.getElementById(id);
        const colour = n => n == null ? "#d9dce3" : `hsl(${(n * 137.508) % 360}, 68%, ${n % 2 ? 42 : 52}%)`;
        const seconds = ms => (ms / 1000).toFixed(1) + " s";
        let cells = [], cellCount = -1, delay = 1000, timer = null, pools = [], listedAt = 0;
        let pool = new URLSearchParams(location.hash.slice(1)).get("pool");

        function row(tbody, values, attributes) {
          const tr = document.createElement("tr");
          for (const [key, value] of Object.entries(attributes || {})) tr.dataset[key] = value;
          for (const value of values) {
            const td = document.createElement("td");
            if (value instanceof Node) td.appendChild(value); else td.textContent = value;
            if (typeof value === "number") td.className = "num";
            tr.appendChild(td);
          }
          tbody.appendChild(tr);
        }
        function swatch(n, text) {
          const span = document.createElement("span");
          const box = document.createElement("span");
          box.className = "swatch"; box.style.background = colour(n);
          span.append(box, text);
          return span;
        }
        function leaseBar(left, ttl) {
          const span = document.createElement("span");
          const bar = document.createElement("span"), fill = document.createElement("i");
          bar.className = "bar"; fill.style.width = Math.max(0, Math.min(100, 100 * left / ttl)) + "%";
          if (left < ttl / 3) fill.style.background = "var(--bad)";
          bar.appendChild(fill);
          span.append(seconds(Math.max(left, 0)), bar);
          return span;
        }
        // A worker's reported load and its ratio to the mean over the pool's workers; the bar is full at
        // twice the mean, and turns red past 1.1 x (the default epsilon's trigger).
        function loadBar(load, mean) {
          const span = document.createElement("span");
          if (load == null) { span.textContent = "–"; return span; }
          const ratio = mean > 0 ? load / mean : 0;
          const bar = document.createElement("span"), fill = document.createElement("i");
          bar.className = "bar"; fill.style.width = Math.min(100, 50 * ratio) + "%";
          if (ratio > 1.1) fill.style.background = "var(--bad)";
          bar.appendChild(fill);
          span.append(`${load.toFixed(1)} (${ratio.toFixed(2)}× mean)`, bar);
          span.dataset.ratio = ratio.toFixed(3);
          return span;
        }
        function buildGrid(count) {
          const grid = el("grid");
          grid.replaceChildren();
          const columns = Math.max(8, Math.ceil(Math.sqrt(count * 2)));
          const rows = Math.ceil(count / columns), size = 10;
          grid.setAttribute("viewBox", `0 0 ${columns * size} ${Math.max(rows, 1) * size}`);
          cells = [];
          for (let p = 0; p < count; p++) {
            const rect = document.createElementNS(SVG, "rect");
            rect.setAttribute("x", (p % columns) * size + 0.5); rect.setAttribute("y", Math.floor(p / columns) * size + 0.5);
            rect.setAttribute("width", size - 1); rect.setAttribute("height", size - 1); rect.setAttribute("rx", 1.5);
            const title = document.createElementNS(SVG, "title");
            rect.appendChild(title);
            grid.appendChild(rect);
            cells.push(rect);
          }
          cellCount = count;
        }
        function drawLayout(layout, names) {
          if (layout.partitionCount !== cellCount) buildGrid(layout.partitionCount);
          if (layout.partitionCount === 0) {
            el("legend").replaceChildren();
            el("layout-title").textContent = "Numbers only: this pool has no partitions";
            return;
          }
          const held = new Map();
          for (let p = 0; p < cells.length; p++) {
            const owner = layout.owners[p], holder = layout.holders[p], rect = cells[p];
            let state, fill = colour(holder), opacity = 1, stroke = "none";
            if (holder == null && owner == null) state = "unowned";
            else if (holder == null) { state = "granting"; fill = colour(owner); opacity = 0.35; }
            else if (owner != null && owner !== holder) { state = "moving"; stroke = colour(owner); }
            else state = "held";
            if (holder != null) held.set(holder, (held.get(holder) || 0) + 1);
            rect.setAttribute("fill", fill); rect.setAttribute("fill-opacity", opacity);
            rect.setAttribute("stroke", stroke); rect.setAttribute("stroke-width", stroke === "none" ? 0 : 2.5);
            rect.dataset.holder = holder == null ? "" : holder; rect.dataset.owner = owner == null ? "" : owner; rect.dataset.state = state;
            rect.firstChild.textContent = `partition ${p}: ` + (holder == null ? "no grant" : `held by ${names.get(holder) || holder}`)
              + (owner == null ? ", no owner" : owner === holder ? "" : `, owner ${names.get(owner) || owner}`);
          }
          const legend = el("legend");
          legend.replaceChildren();
          for (const [n, count] of [...held.entries()].sort((a, b) => a[0] - b[0])) {
            const item = swatch(n, `${n} ${names.get(n) || "(gone)"}: ${count}`);
            item.dataset.number = n;
            legend.appendChild(item);
          }
          el("layout-title").textContent = `Layout v${layout.version} · ${layout.partitionCount} partitions`;
        }
        function describe(e) {
          switch (e.kind) {
            case "leased": case "adopted": return `${e.name} got number ${e.number}` + (e.lease === "numberOnly" ? " (number only)" : "") + ` · epoch ${e.epoch}`;
            case "released": return `${e.name} released number ${e.number}`;
            case "expired": return `${e.name}'s lease on number ${e.number} expired`;
            case "layout": return `layout v${e.version} published: ${e.members} members, ${e.moved} partitions moved`;
            case "recovery": return `the store lost state; no new numbers or grants until ${e.until}`;
            default: return e.kind;
          }
        }
        function draw(s) {
          const names = new Map(s.workers.map(w => [w.number, w.name]));
          const workers = el("workers").tBodies[0];
          workers.replaceChildren();
          const members = s.workers.filter(w => w.kind !== "numberOnly");
          // The mean of what the workers hold now, not the pool's load over their count: mid-handoff, a
          // partition's load belongs to nobody, and the ratios would not average 1.
          const loads = members.map(w => w.load ?? 0);
          const mean = s.fleet && members.length ? loads.reduce((a, b) => a + b, 0) / members.length : 0;
          for (const w of s.workers) {
            row(workers, [swatch(w.number, String(w.number)), w.name, w.kind === "numberOnly" ? "number only" : "worker", String(w.epoch),
              leaseBar(w.leaseMillisLeft, s.leaseTTLMillis), w.partitions, w.revokedHeld, w.consumerGroup, loadBar(w.load, mean)],
              { number: w.number, name: w.name });
          }
          if (!s.workers.length) row(workers, ["no live workers"]);
          drawLayout(s.layout, names);
          el("handoff-count").textContent = s.handoffs.pending;
          const handoffs = el("handoffs").tBodies[0];
          handoffs.replaceChildren();
          for (const h of s.handoffs.first.slice(0, 20)) {
            row(handoffs, [h.partition, h.from == null ? "nobody" : swatch(h.from, `${h.from} ${names.get(h.from) || ""}`), swatch(h.to, `${h.to} ${names.get(h.to) || ""}`)]);
          }
          if (s.handoffs.pending > 20) row(handoffs, [`… and ${s.handoffs.pending - 20} more`]);
          const quarantine = el("quarantine").tBodies[0];
          quarantine.replaceChildren();
          for (const q of s.quarantine) row(quarantine, [q.number, seconds(q.millisLeft)]);
          if (!s.quarantine.length) row(quarantine, ["none"]);
          const events = el("events").tBodies[0];
          events.replaceChildren();
          for (const e of s.events.slice(0, 25)) {
            const kind = document.createElement("span");
            kind.className = "kind-" + e.kind; kind.textContent = e.kind;
            row(events, [new Date(e.atMillis).toISOString().slice(11, 23) + ` (${seconds(s.nowMillis - e.atMillis)} ago)`, kind, describe(e)]);
          }
          const r = s.redis, recovering = r.recoveryMillisLeft > 0;
          const f = s.fleet;
          el("summary").textContent = `${s.workers.length} live · layout v${s.layout.version} · ${s.handoffs.pending} handoffs pending · ${s.handoffs.unowned} partitions unowned`
            + (f ? ` · load ${f.load.toFixed(1)}` + (f.desiredWorkers != null ? ` · needs ${f.desiredWorkers} workers` : "") : "");
          el("summary").className = s.workers.length ? "" : "bad";
          el("redis").textContent = `Redis ${r.primary}: ${r.latencyMillis.toFixed(1)} ms · ${r.connectedReplicas} replicas (min ${r.minReplicas})`
            + (recovering ? ` · recovering lost state, ${seconds(r.recoveryMillisLeft)} left` : "");
          el("redis").className = recovering || r.connectedReplicas < r.minReplicas ? "warn" : "ok";
          document.body.dataset.version = s.layout.version;
          document.body.dataset.updated = s.nowMillis;
        }
        async function get(path) {
          const response = await fetch(new URL(path, location.origin), { cache: "no-store", credentials: "same-origin" });
          const body = await response.json();
          if (!response.ok) throw new Error(`${response.status}: ${body.message || body.error}`);
          return body;
        }
        // The pool list (two Redis reads per pool) is refreshed every 10 s, not at every poll.
        async function listPools() {
          if (pools.length && Date.now() - listedAt < 10000) return;
          pools = (await get("/v1/pools")).pools;
          listedAt = Date.now();
          if (!pool || !pools.some(p => p.name === pool)) pool = (pools.find(p => p.name === "default") || pools[0] || {}).name || "default";
          const select = el("pool");
          select.replaceChildren(...pools.map(p => {
            const option = document.createElement("option");
            option.value = p.name;
            option.textContent = `${p.name} · ${p.liveWorkers} live · ` + (p.partitions ? `${p.partitions} partitions` : "numbers only");
            return option;
          }));
          select.value = pool;
        }
        el("pool").addEventListener("change", event => {
          pool = event.target.value;
          location.hash = "pool=" + encodeURIComponent(pool);
          cellCount = -1;
          clearTimeout(timer);
          poll();
        });
        async function poll() {
          try {
            await listPools();
            const response = await fetch(new URL(`/v1/pools/${encodeURIComponent(pool)}/overview`, location.origin),
              { cache: "no-store", credentials: "same-origin" });
            const body = await response.json();
            if (!response.ok) throw new Error(`${response.status}: ${body.message || body.error}`);
            draw(body);
            // Once per heartbeat interval; but when a listed lease lapses sooner, at its lapse (and every
            // 250 ms until the reaper has removed it), so a dead worker leaves the page when its lease ends.
            delay = Math.max(250, Math.min(body.heartbeatIntervalMillis, ...body.workers.map(w => w.leaseMillisLeft)));
            el("banner").style.display = "none";
            el("updated").textContent = "updated " + new Date().toLocaleTimeString();
            document.body.dataset.state = "ok";
            document.body.dataset.pool = pool;
          } catch (error) {
            el("banner").textContent = `The control plane could not read the lease store: ${error.message}. Retrying.`;
            el("banner").style.display = "block";
            el("redis").textContent = "Redis: unreachable"; el("redis").className = "bad";
            document.body.dataset.state = "error";
          }
          timer = setTimeout(poll, delay);
        }
        poll();
        </script>
        </body>
        </html>
        """#
}
