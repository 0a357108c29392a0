// Every htmx request carries the CSRF token rendered into the page.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) event.detail.headers["X-CSRF-TOKEN"] = meta.content;
});
// Behaviour that used to be inline handlers (the Content-Security-Policy runs no inline script):
// a select marked data-autosubmit submits its form; a range marked data-shows-value shows its
// value in the <output> just before it. Delegated, so fragments htmx swaps in work too.
document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
document.addEventListener("input", (event) => {
  if (!event.target.matches("input[data-shows-value]")) return;
  const output = event.target.previousElementSibling;
  if (output) output.value = event.target.value;
});
// Show server-rendered error fragments for 4xx answers instead of dropping them.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400 && status < 500 && status !== 401) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Uploads: ask the page for a signed URL, PUT the bytes straight to storage with a real
// progress bar (bytes sent), then complete and show the analysis item, which polls itself.
(() => {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function row(file) {
    const el = document.createElement("article");
    el.className = "upload-row";
    el.innerHTML = '<header><strong class="filename"></strong> <span class="muted small-text pct">0 %</span></header>' +
      '<progress value="0" max="100" data-testid="upload-progress"></progress><p class="msg muted small-text">Preparing…</p>';
    el.querySelector(".filename").textContent = file.name;
    document.getElementById("uploads").prepend(el);
    return el;
  }

  function fail(el, html) {
    el.querySelector("progress").remove();
    const msg = el.querySelector(".msg");
    msg.className = "msg";
    msg.innerHTML = html;
    el.classList.add("failed");
    const close = document.createElement("button");
    close.type = "button";
    close.className = "secondary outline small dismiss";
    close.textContent = "Dismiss";
    close.dataset.testid = "dismiss-upload";
    close.addEventListener("click", () => el.remove());
    el.querySelector("header").append(close);
  }

  function list(html) {
    const holder = document.createElement("div");
    holder.innerHTML = html.trim();
    const item = holder.firstElementChild;
    document.getElementById("no-analyses")?.remove();
    document.getElementById("analyses").prepend(item);
    if (window.htmx) htmx.process(item);
  }

  async function post(url, body) {
    const headers = {"X-CSRF-TOKEN": csrf(), "HX-Request": "true"};
    if (body) headers["Content-Type"] = "application/json";
    return fetch(url, {method: "POST", headers, credentials: "same-origin", body: body && JSON.stringify(body)});
  }

  function put(el, ticket, file) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(ticket.method || "PUT", ticket.upload_url);
      Object.entries(ticket.headers || {}).forEach(([k, v]) => xhr.setRequestHeader(k, v));
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        el.dataset.sent = e.loaded;
        const pct = Math.floor((e.loaded / e.total) * 100);
        el.querySelector("progress").value = pct;
        el.querySelector(".pct").textContent = `${pct} % · ${(e.loaded / 1048576).toFixed(1)} of ${(e.total / 1048576).toFixed(1)} MB`;
      };
      xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`storage answered ${xhr.status}: ${xhr.responseText.slice(0, 200)}`)));
      xhr.onerror = () => reject(new Error("the connection to storage failed; check your network and try again"));
      el.querySelector(".msg").textContent = "Uploading…";
      xhr.send(file);
    });
  }

  async function upload(zone, file) {
    const el = row(file);
    const init = await post(zone.dataset.initUrl, {filename: file.name, content_type: file.type, file_size: file.size});
    if (!init.ok) return fail(el, await init.text());
    const ticket = await init.json();
    try {
      await put(el, ticket, file);
    } catch (err) {
      return fail(el, `Upload failed: ${err.message}.`);
    }
    el.querySelector(".msg").textContent = "Uploaded; queuing the analysis…";
    const done = await post(ticket.complete_url);
    const html = await done.text();
    if (done.headers.get("X-Analysis-Item") === "failed") {  // refused: listed with its reason
      el.remove();
      return list(html);
    }
    if (!done.ok) return fail(el, html);
    // What the progress events reported, kept where polling swaps will not erase it.
    document.getElementById("uploads").dataset.lastSentBytes = el.dataset.sent || "0";
    el.remove();
    list(html);
  }

  function init() {
    const zone = document.getElementById("dropzone");
    if (!zone) return;
    const input = zone.querySelector("input[type=file]");
    const start = (files) => Array.from(files).forEach((f) => upload(zone, f));
    input.addEventListener("change", () => { start(input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
    ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
    zone.addEventListener("drop", (e) => start(e.dataTransfer.files));
  }

  document.addEventListener("DOMContentLoaded", init);
})();

// A batch just submitted (a POST to /requirements/batches) shows its own address, so Reload opens
// the batch instead of submitting the table again.
document.addEventListener("DOMContentLoaded", () => {
  const batch = document.querySelector("#batch[data-url]");
  if (batch && window.location.pathname !== batch.dataset.url) history.replaceState(null, "", batch.dataset.url);
});

// Report opened at a moment: `?t=42.5` or `#t=42.5` (a chat citation, a shared link) or `#shot-N`
// puts the player at that second, ready to play from there.
(() => {
  const seconds = (value) => {
    const t = parseFloat(value);
    return Number.isFinite(t) && t >= 0 ? t : null;
  };

  function requested() {
    const query = seconds(new URLSearchParams(window.location.search).get("t"));
    if (query !== null) return query;
    const hash = /^#t=([\d.]+)$/.exec(window.location.hash);
    if (hash) return seconds(hash[1]);
    const shot = /^#shot-(\d+)$/.exec(window.location.hash);
    const link = shot && document.querySelector(`#shot-${shot[1]} [data-seek]`);
    return link ? seconds(link.dataset.seek) : null;
  }

  function seekTo(player, t) {
    if (t === null) return;
    const seek = () => { player.currentTime = t; };
    if (player.readyState >= 1) seek(); else player.addEventListener("loadedmetadata", seek, {once: true});
  }

  document.addEventListener("DOMContentLoaded", () => {
    const player = document.getElementById("player");
    if (!player) return;
    // The preview failed to load (gone, or a codec this browser lacks): play the upload instead.
    player.addEventListener("error", () => {
      const fallback = player.dataset.fallback;
      if (!fallback || player.src === fallback) return;
      const at = player.currentTime;
      player.src = fallback;
      seekTo(player, at || requested());
    });
    seekTo(player, requested());
  });

  window.addEventListener("hashchange", () => {
    const player = document.getElementById("player");
    if (player) seekTo(player, requested());
  });

  // A timeline or shot click plays the video from that shot's first second; the address says
  // where (`?t=`), so reloading or sharing it opens the same moment.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-seek]");
    const player = document.getElementById("player");
    if (!link || !player) return;
    event.preventDefault();
    const t = seconds(link.dataset.seek);
    if (t === null) return;
    seekTo(player, t);
    const url = new URL(window.location.href);
    url.searchParams.set("t", String(t));
    history.replaceState(null, "", url.pathname + url.search + url.hash);
    player.scrollIntoView({behavior: "smooth", block: "center"});
    player.play().catch(() => {});
  });
})();

// Requirement batches: follow the batch over SSE; fill scores in and highlight the findings
// (spans only) in the texts this page holds from the submission.
(() => {
  const band = (s) => (s == null ? "" : s >= 80 ? "score-good" : s >= 50 ? "score-mid" : "score-bad");
  const rank = {high: 3, medium: 2, low: 1};

  function highlight(cell, findings) {
    if (cell.dataset.text == null) return;
    // Spans count code points (Python's str), JavaScript strings UTF-16 units: slice code points,
    // or an emoji before a finding shifts its mark by one.
    const points = Array.from(cell.dataset.text);
    const text = {length: points.length, slice: (s, e) => points.slice(s, e).join("")};
    const spans = findings.filter((f) => f.span && f.span[0] < f.span[1] && f.span[1] <= text.length);
    const cuts = [...new Set([0, text.length, ...spans.flatMap((f) => f.span)])].sort((a, b) => a - b);
    cell.textContent = "";
    for (let i = 0; i < cuts.length - 1; i++) {
      const [s, e] = [cuts[i], cuts[i + 1]];
      const covering = spans.filter((f) => f.span[0] <= s && e <= f.span[1]);
      if (!covering.length) { cell.append(text.slice(s, e)); continue; }
      const mark = document.createElement("mark");
      const worst = covering.reduce((a, f) => ((rank[f.severity] || 0) > (rank[a.severity] || 0) ? f : a));
      mark.className = `sev-${worst.severity}`;
      mark.title = covering.map((f) => `${f.rule_id} (${f.criterion || ""} ${f.severity})`).join("\n");
      mark.textContent = text.slice(s, e);
      cell.append(mark);
    }
  }

  function score(cell, value) {
    cell.textContent = "";
    if (value == null) return;
    const span = document.createElement("span");
    span.className = `score ${band(value)}`;
    span.textContent = value;
    cell.append(span);
  }

  function row(section, item) {
    const body = section.querySelector("#batch-rows");
    let tr = body.querySelector(`tr[data-row-index="${item.row_index}"]`);
    if (!tr) {
      const keys = section.querySelector("table").dataset.criteria.split(" ").filter(Boolean);
      tr = document.createElement("tr");
      tr.dataset.rowIndex = item.row_index;
      tr.innerHTML = '<td class="key"></td><td class="text"></td><td class="overall"></td>' +
        keys.map((k) => `<td class="crit" data-criterion="${k}"></td>`).join("") + '<td class="findings"></td>';
      body.append(tr);
    }
    tr.classList.remove("pending");
    tr.querySelector(".key").textContent = item.id;
    if (item.status === "ok") score(tr.querySelector(".overall"), item.overall);
    else tr.querySelector(".overall").textContent = item.error_code || "failed";
    tr.querySelectorAll("td[data-criterion]").forEach((td) => score(td, (item.scores || {})[td.dataset.criterion]));
    tr.querySelector(".findings").textContent = (item.findings || []).length;
    highlight(tr.querySelector(".text"), item.findings || []);
    if (item.rewrite) {
      const p = document.createElement("div");
      p.className = "rewrite small-text";
      p.textContent = `→ ${item.rewrite}`;
      tr.querySelector(".text").append(p);
    }
  }

  function progress(section, data) {
    section.dataset.status = data.status;
    section.querySelector("[data-testid=batch-status]").textContent = data.status;
    section.querySelector("[data-testid=batch-done]").textContent = data.done_rows;
    section.querySelector("[data-testid=batch-failed]").textContent = data.failed_rows;
    section.querySelector("[data-testid=batch-progress]").value = data.progress;
    if (["completed", "failed", "canceled"].includes(data.status)) section.querySelector("form#batch-cancel")?.remove();
  }

  function follow() {
    const section = document.getElementById("batch");
    if (!section) return;
    // A finished batch needs the stream only to highlight texts this page holds (the submission's
    // own page, when the worker was done before the page was): it replays every row, then "done".
    const finished = ["completed", "failed", "canceled"].includes(section.dataset.status);
    if (finished && !section.querySelector("td.text[data-text]")) return;
    const source = new EventSource(section.dataset.streamUrl);
    source.addEventListener("row", (e) => row(section, JSON.parse(e.data)));
    source.addEventListener("progress", (e) => progress(section, JSON.parse(e.data)));
    source.addEventListener("done", (e) => { progress(section, JSON.parse(e.data)); source.close(); });
    source.addEventListener("error", (e) => { if (e.data) source.close(); });
  }

  document.addEventListener("DOMContentLoaded", follow);
})();

// Chat: post the question, read the answer's Server-Sent Events from the response body as
// they arrive (fetch + ReadableStream), then show the citations as links to the shots.
(() => {
  function bubble(thread, role, text) {
    document.getElementById("thread-empty")?.remove();
    const el = document.createElement("article");
    el.className = `msg msg-${role}`;
    const p = document.createElement("p");
    p.className = "msg-text";
    p.textContent = text;
    el.append(p);
    thread.append(el);
    el.scrollIntoView({block: "end"});
    return el;
  }

  function citations(form, el, items) {
    if (!items || !items.length) return;
    const ul = document.createElement("ul");
    ul.className = "citations";
    ul.dataset.testid = "citations";
    for (const c of items) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = `${form.dataset.reportUrl.replace("ANALYSIS", c.analysis_id)}?t=${c.start_s}#shot-${c.shot}`;
      a.dataset.testid = "citation";
      a.innerHTML = "<strong></strong>";
      a.querySelector("strong").textContent = c.filename || "video";
      a.append(` · shot ${c.shot + 1} · ${c.start_s.toFixed(1)}–${c.end_s.toFixed(1)} s`);
      li.append(a);
      if (c.snippet) {
        const s = document.createElement("span");
        s.className = "muted small-text";
        s.textContent = ` “${c.snippet}”`;
        li.append(s);
      }
      ul.append(li);
    }
    el.append(ul);
  }

  function parse(block) {
    const event = {type: "message", data: ""};
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event.type = line.slice(6).trim();
      else if (line.startsWith("data:")) event.data += line.slice(5).trim();
    }
    return event;
  }

  async function ask(form) {
    const thread = document.getElementById("thread");
    const data = new FormData(form);
    const question = data.get("message");
    const input = form.querySelector("[name=message]");
    input.value = "";
    const asked = bubble(thread, "user", question);
    const answer = bubble(thread, "assistant", "");
    answer.classList.add("streaming");
    const text = answer.querySelector(".msg-text");
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch(form.dataset.streamUrl, {method: "POST", body: new URLSearchParams(data),
      headers: {"X-CSRF-TOKEN": csrf, "HX-Request": "true"}, credentials: "same-origin"});
    if (!response.ok) {  // refused (too long, empty…): say why, and give the question back to edit
      answer.classList.remove("streaming");
      answer.innerHTML = await response.text();
      asked.classList.add("refused");
      if (!input.value) input.value = question;
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = parse(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        const payload = event.data ? JSON.parse(event.data) : {};
        if (event.type === "token") text.textContent += payload.text;
        else if (event.type === "done") {
          text.textContent = payload.answer;
          citations(form, answer, payload.citations);
          const meta = document.createElement("p");
          meta.className = "muted small-text";
          meta.textContent = payload.provider + (payload.notice ? ` · fell back: ${payload.notice.message}` : "");
          answer.append(meta);
          answer.dataset.done = "1";
        }
        else if (event.type === "error") { answer.insertAdjacentHTML("beforeend", '<p class="error-box"></p>'); answer.lastChild.textContent = payload.message; }
      }
    }
    answer.classList.remove("streaming");
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "chat-form" || !window.ReadableStream) return;
    event.preventDefault();
    ask(form).catch((err) => bubble(document.getElementById("thread"), "assistant", `The answer stopped: ${err.message}. Ask again.`));
  });
})();
