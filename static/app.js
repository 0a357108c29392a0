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

  function list(html, where) {
    const holder = document.createElement("div");
    holder.innerHTML = html.trim();
    const item = holder.firstElementChild;
    document.getElementById(where === "documents" ? "no-documents" : "no-analyses")?.remove();
    document.getElementById(where === "documents" ? "documents" : "analyses").prepend(item);
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
    const where = ticket.document_id ? "documents" : "analyses";
    el.querySelector(".msg").textContent = ticket.document_id ? "Uploaded; queuing the extraction…" : "Uploaded; queuing the analysis…";
    const done = await post(ticket.complete_url);
    const html = await done.text();
    if (done.headers.get("X-Analysis-Item") === "failed") {  // refused: listed with its reason
      el.remove();
      return list(html, where);
    }
    if (!done.ok) return fail(el, html);
    // What the progress events reported, kept where polling swaps will not erase it.
    document.getElementById("uploads").dataset.lastSentBytes = el.dataset.sent || "0";
    el.remove();
    list(html, where);
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
    if (["completed", "failed", "canceled"].includes(data.status)) dropCancel(section.querySelector("form#batch-cancel"));
  }

  // The batch has ended: Cancel goes. While the button's own request is in flight, its response
  // replaces the form with what the cancel did; the stream, often first, must leave the form to it.
  function dropCancel(form) {
    if (!form) return;
    if (!form.classList.contains("htmx-request")) { form.remove(); return; }
    form.addEventListener("htmx:afterRequest", () => { if (form.isConnected) form.remove(); }, {once: true});
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

// Chat answers as safe Markdown: the grammar of backend_app/web/markdown.py, built as DOM nodes
// (text nodes and a fixed set of elements, so nothing in an answer can become markup or script).
// A browser test checks that both give the same HTML.
window.FramewiseMarkdown = (() => {
  const W = "[\\p{L}\\p{N}_]";  // Python's \w
  const CODE = /`([^`\n]+)`/g;
  const LINK = /\[([^\]\n]+)\]\(([^()\s]+)\)/g;
  const SAFE_URL = /^(?:https?:\/\/[^\s\\]+|\/(?![/\\])[^\s\\]*)$/i;
  let EMPHASIS = null;  // a browser without lookbehind (Safari before 16.4) shows emphasis as typed
  try {
    EMPHASIS = new RegExp(
      "\\*\\*(?=\\S)(.+?)(?<=\\S)\\*\\*" +
      `|(?<!${W})__(?=\\S)(.+?)(?<=\\S)__(?!${W})` +
      "|\\*(?=[^\\s*])(.+?)(?<=[^\\s*])\\*" +
      `|(?<!${W})_(?=[^\\s_])(.+?)(?<=[^\\s_])_(?!${W})`, "gsu");
  } catch (err) { EMPHASIS = null; }
  const BULLET = /^ {0,3}[-*+]\s+(.*)$/s;
  const NUMBERED = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/s;
  const HEADING = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/s;

  const el = (tag, children) => { const e = document.createElement(tag); e.append(...children); return e; };

  function emphasis(text) {
    if (!EMPHASIS) return [text];
    const out = [];
    let at = 0;
    for (const m of text.matchAll(EMPHASIS)) {
      out.push(text.slice(at, m.index));
      const strong = m[1] !== undefined || m[2] !== undefined;
      out.push(el(strong ? "strong" : "em", emphasis(m[1] ?? m[2] ?? m[3] ?? m[4])));
      at = m.index + m[0].length;
    }
    out.push(text.slice(at));
    return out;
  }

  function links(text) {
    const out = [];
    let at = 0;
    for (const m of text.matchAll(LINK)) {
      if (!SAFE_URL.test(m[2])) continue;  // stays text, brackets and all
      out.push(...emphasis(text.slice(at, m.index)));
      const a = el("a", emphasis(m[1]));
      a.setAttribute("href", m[2]);
      a.setAttribute("rel", "noopener noreferrer");
      out.push(a);
      at = m.index + m[0].length;
    }
    out.push(...emphasis(text.slice(at)));
    return out;
  }

  function inline(text) {
    const out = [];
    let at = 0;
    for (const m of text.matchAll(CODE)) {
      out.push(...links(text.slice(at, m.index)), el("code", [m[1]]));
      at = m.index + m[0].length;
    }
    out.push(...links(text.slice(at)));
    return out;
  }

  // The answer as a DocumentFragment: blank lines part paragraphs, -/*/1. lines make lists, a #
  // heading is a bold paragraph, other line breaks are kept.
  function render(text) {
    const frag = document.createDocumentFragment();
    let kind = null, items = [], start = 1;
    const close = () => {
      if (kind === "p") {
        const p = document.createElement("p");
        items.forEach((line, i) => { if (i) p.append(document.createElement("br")); p.append(...line); });
        frag.append(p);
      } else if (kind) {
        const list = el(kind, items.map((item) => el("li", item)));
        if (kind === "ol" && start !== 1) list.setAttribute("start", String(start));
        frag.append(list);
      }
      kind = null; items = [];
    };
    for (const line of (text || "").replace(/\r\n?/g, "\n").split("\n")) {
      let m;
      if (!line.trim()) close();
      else if ((m = BULLET.exec(line))) {
        if (kind !== "ul") { close(); kind = "ul"; }
        items.push(inline(m[1]));
      } else if ((m = NUMBERED.exec(line))) {
        if (kind !== "ol") { close(); kind = "ol"; start = parseInt(m[1], 10); }
        items.push(inline(m[2]));
      } else if ((m = HEADING.exec(line))) {
        close();
        frag.append(el("p", [el("strong", inline(m[1]))]));
      } else if ((kind === "ul" || kind === "ol") && /^\s/.test(line)) {
        items[items.length - 1].push(document.createElement("br"), ...inline(line.trim()));
      } else {
        if (kind !== "p") { close(); kind = "p"; }
        items.push(inline(line.trim()));
      }
    }
    close();
    return frag;
  }

  return {render, safeUrl: (url) => SAFE_URL.test(url)};
})();

// Chat: the thread opens at its newest message (the question box stays at the bottom of the
// screen); post the question, read the answer's Server-Sent Events from the response body as
// they arrive (fetch + ReadableStream), render it as Markdown on every piece, then show the
// citations as links that open the report with the player at the cited second.
(() => {

  // The same words as backend_app/web/chat.py's clock(): 0:04, 1:02, 0:03.2.
  function clock(seconds) {
    const s = Math.max(0, Number(seconds) || 0);
    const minutes = Math.floor(s / 60);
    let whole = Math.floor(s - minutes * 60);
    let tenths = Math.round((s - minutes * 60 - whole) * 10);
    if (tenths === 10) { whole += 1; tenths = 0; }
    return `${minutes}:${String(whole).padStart(2, "0")}${tenths ? `.${tenths}` : ""}`;
  }

  // The same words as backend_app/web/chat.py's citation_label(): what follows the file's name.
  function label(c) {
    if (c.kind === "page") return `, page ${c.page}`;
    if (c.kind === "speech") return `, ${clock(c.start_s)}, spoken`;
    if (c.kind === "text") return `, on screen at ${clock(c.start_s)}`;
    return ` · Shot ${(c.shot || 0) + 1} · ${clock(c.start_s)}–${clock(c.end_s)}`;
  }

  function href(form, c) {
    if (c.kind === "page") {
      return c.document_id ? `/documents/${encodeURIComponent(c.document_id)}?page=${Number(c.page) || 1}` : null;
    }
    if (!c.analysis_id) return null;
    const url = `${form.dataset.reportUrl.replace("ANALYSIS", encodeURIComponent(c.analysis_id))}?t=${Number(c.start_s) || 0}`;
    return (c.kind || "shot") === "shot" && c.shot != null ? `${url}#shot-${c.shot}` : url;
  }

  const atBottom = () => window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 80;
  const toBottom = () => window.scrollTo(0, document.documentElement.scrollHeight);

  function bubble(thread, role, text) {
    document.getElementById("thread-empty")?.remove();
    document.getElementById("latest")?.removeAttribute("id");
    const el = document.createElement("article");
    el.className = `msg msg-${role}`;
    el.id = "latest";
    el.dataset.testid = "message";
    const body = document.createElement(role === "assistant" ? "div" : "p");
    body.className = role === "assistant" ? "msg-text md" : "msg-text";
    if (role === "assistant") body.dataset.testid = "answer-text";
    body.textContent = text;
    el.append(body);
    thread.append(el);
    toBottom();
    return el;
  }

  function citations(form, el, items) {
    if (!items || !items.length) return;
    const ul = document.createElement("ul");
    ul.className = "citations";
    ul.dataset.testid = "citations";
    for (const c of items) {
      const li = document.createElement("li");
      li.dataset.kind = c.kind || "shot";
      const url = href(form, c);
      const a = document.createElement(url ? "a" : "span");
      if (url) { a.href = url; if (c.kind !== "page") a.dataset.start = c.start_s; }
      a.dataset.testid = "citation";
      const name = document.createElement("strong");
      name.textContent = c.filename || (c.kind === "page" ? "document" : "video");
      a.append(name, label(c));
      li.append(a);
      if (c.snippet) {
        const s = document.createElement("span");
        s.className = "muted small-text";
        s.textContent = ` “${c.snippet}”`;
        li.append(["speech", "text", "page"].includes(c.kind) ? ":" : "", s);
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

  function notice(answer, message) {
    const p = document.createElement("p");
    p.className = "error-box";
    p.dataset.testid = "notice";
    p.textContent = message;
    answer.append(p);
  }

  // "Thinking…" while the answer streams: the button is disabled and busy, the answer shows an
  // indicator; both are cleared however the answer ends.
  function thinking(form, answer, on) {
    const button = form.querySelector("[type=submit]");
    button.disabled = on;
    button.setAttribute("aria-busy", String(on));
    form.classList.toggle("busy", on);
    answer.classList.toggle("streaming", on);
    answer.querySelector(".thinking")?.remove();
    if (on) {
      const p = document.createElement("p");
      p.className = "thinking muted small-text";
      p.dataset.testid = "thinking";
      p.setAttribute("role", "status");
      p.textContent = "Thinking…";
      answer.append(p);
    }
  }

  async function ask(form, body, answer, question, input) {
    const asked = answer.previousElementSibling;
    const text = answer.querySelector(".msg-text");
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch(form.dataset.streamUrl, {method: "POST", body: new URLSearchParams(body),
      headers: {"X-CSRF-TOKEN": csrf, "HX-Request": "true"}, credentials: "same-origin"});
    if (!response.ok) {  // refused (too long, empty…): say why, and give the question back to edit
      answer.innerHTML = await response.text();  // the server's own escaped error fragment
      asked.classList.add("refused");
      if (!input.value) input.value = question;
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", sofar = "";
    const show = (value) => {
      const follow = atBottom();
      sofar = value;
      text.replaceChildren(window.FramewiseMarkdown.render(sofar));
      if (follow) toBottom();
    };
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = parse(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        const payload = event.data ? JSON.parse(event.data) : {};
        if (event.type === "token") show(sofar + payload.text);
        else if (event.type === "done") {
          show(payload.answer);
          citations(form, answer, payload.citations);
          const meta = document.createElement("p");
          meta.className = "muted small-text";
          meta.textContent = payload.provider || "";
          answer.append(meta);
          if (payload.notice) notice(answer, payload.notice.message || payload.notice.code);
          answer.dataset.done = "1";
        } else if (event.type === "error") {  // an interrupted answer keeps what arrived, with why
          notice(answer, payload.message);
          answer.dataset.done = "error";
        }
      }
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "chat-form" || !window.ReadableStream) return;
    event.preventDefault();
    if (form.classList.contains("busy")) return;  // one answer at a time
    const thread = document.getElementById("thread");
    const input = form.querySelector("[name=message]");
    const question = input.value;
    const body = new FormData(form);  // read before the input is emptied for the next question
    input.value = "";
    bubble(thread, "user", question);
    const answer = bubble(thread, "assistant", "");
    thinking(form, answer, true);
    ask(form, body, answer, question, input)
      .catch((err) => { notice(answer, `The answer stopped: ${err.message}. Ask again.`); answer.dataset.done = "error"; })
      .finally(() => { thinking(form, answer, false); toBottom(); });
  });

  // Open the thread at its newest message, right above the question box.
  document.addEventListener("DOMContentLoaded", () => {
    if (document.getElementById("chat-form") && document.getElementById("latest")) toBottom();
  });
})();

// A document report opened at ?page=N: scroll to that page (it is highlighted by its class).
document.addEventListener("DOMContentLoaded", () => {
  const page = document.querySelector('.doc-page[data-selected="true"]');
  if (page) page.scrollIntoView({block: "start"});
});
