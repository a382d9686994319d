// StreamMesh catalog page: products by domain, and one product's contract, SLOs and lineage.
// Reads this registry's own APIs (same origin) and, when configured, the quality monitor's
// GET /products. Every value is put in the DOM as text, never as markup, and a URL from the
// query string, the registry's settings or catalog data becomes a link only when it is an
// absolute http(s) URL: anything else (javascript:, data:, ...) is shown as text.

const API = new URL("/", window.location.href);
const SVG_NS = "http://www.w3.org/2000/svg";
const MONITOR_TIMEOUT_MS = 4000;

// ---------------------------------------------------------------- data

async function getJSON(path) {
  // "include": with auth on, the browser sends the Basic credentials it asked the user for
  // (the registry answers 401 with WWW-Authenticate: Basic).
  const response = await fetch(new URL(path, API), {
    credentials: "include",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) {
    let message = `HTTP ${response.status}`;
    try {
      message = (await response.json()).message || message;
    } catch {
      // the body was not JSON: keep the status line
    }
    throw new Error(`${path}: ${message}`);
  }
  return response.json();
}

// The URL, when `value` is an absolute http: or https: URL; else null.
function httpUrl(value) {
  if (typeof value !== "string") return null;
  let url;
  try {
    url = new URL(value); // no base: a relative value throws
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url : null;
}

// A plain address only: no "?" or "&" that would add headers (cc, body) to the mail.
const EMAIL = /^[^\s@?&#%:/\\<>"]+@[^\s@?&#%:/\\<>"]+\.[^\s@?&#%:/\\<>"]+$/;

const subjectPath = (subject) => `/subjects/${encodeURIComponent(subject)}/versions`;

let monitorPromise = null;

// The quality monitor as {given, url}: `given` as written, `url` only when it is an http(s)
// URL (only then is it fetched or linked); null when none is configured.
function monitor() {
  // ?monitor=<url> on the page wins; otherwise the registry's own setting (GET /ui/config).
  monitorPromise ??= (async () => {
    let given = new URLSearchParams(window.location.search).get("monitor");
    if (!given) {
      try {
        given = (await getJSON("/ui/config")).monitorUrl || null;
      } catch {
        given = null;
      }
    }
    return given ? { given, url: httpUrl(given) } : null;
  })();
  return monitorPromise;
}

// The monitor's status of one product, or null. The contract is loose on purpose: any
// JSON list (or {products: [...]}) of objects with a `ref` will do; failures mean "unknown".
async function monitorStatus(ref) {
  const configured = await monitor();
  if (!configured) return { state: "absent" };
  if (!configured.url) return { state: "failed", reason: "URL is not http(s)" };
  const base = configured.url.href;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), MONITOR_TIMEOUT_MS);
  try {
    const url = new URL("products", base.endsWith("/") ? base : `${base}/`);
    const response = await fetch(url, { credentials: "omit", signal: controller.signal });
    if (!response.ok) return { state: "failed", reason: `HTTP ${response.status}` };
    const body = await response.json();
    const entries = Array.isArray(body) ? body : Array.isArray(body?.products) ? body.products : [];
    const entry = entries.find((e) => e && (e.ref === ref || e.product === ref));
    return entry ? { state: "ok", entry } : { state: "unwatched" };
  } catch (error) {
    return { state: "failed", reason: error.name === "AbortError" ? "timed out" : "unreachable" };
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

// The last guard for every href the page sets: an in-page route, an http(s) URL or a mailto:
// address. Anything else is dropped, so a mistake upstream leaves a dead anchor, not a script.
function safeHref(value) {
  const text = String(value);
  if (text.startsWith("#")) return text;
  if (text.startsWith("mailto:") && EMAIL.test(text.slice("mailto:".length))) return text;
  return httpUrl(text)?.href ?? null;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "href") {
      const href = safeHref(value);
      if (href !== null) node.setAttribute("href", href);
    } else if (name === "testid") node.setAttribute("data-testid", value);
    else if (name === "onclick") node.addEventListener("click", value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

const statusBadge = (status) =>
  el("span", { class: `badge status-${status || "unknown"}`, testid: "status" }, status || "not in catalog");

function parseRef(ref) {
  const match = /^([^.]+)\.(.+)\.v(\d+)$/.exec(ref);
  return match ? { domain: match[1], name: match[2], major: Number(match[3]) } : null;
}

function productHash(ref) {
  const parts = parseRef(ref);
  return parts ? `#/products/${parts.domain}/${parts.name}/v${parts.major}` : null;
}

// A link when `value` is an http(s) URL, else the same text unlinked.
function externalLink(value, attrs = {}) {
  const url = httpUrl(value);
  return url ? el("a", { ...attrs, href: url.href }, value) : el("span", attrs, value);
}

// An http(s) URL or a plain e-mail address (a mailto: link hands it to the mail client and
// runs nothing in the page) is a link; anything else is text.
function contactLink(contact) {
  if (!contact) return null;
  if (EMAIL.test(contact)) return el("a", { href: `mailto:${contact}`, testid: "contact" }, contact);
  return externalLink(contact, { testid: "contact" });
}

// ---------------------------------------------------------------- routing

let renderToken = 0;

async function route() {
  const token = ++renderToken;
  const main = document.getElementById("main");
  const match = /^#\/products\/([^/]+)\/([^/]+)(?:\/v(\d+))?\/?$/.exec(window.location.hash);
  let view;
  try {
    view = match
      ? await productView(decodeURIComponent(match[1]), decodeURIComponent(match[2]), match[3])
      : await catalogView();
  } catch (error) {
    view = el("section", { testid: "error-view" },
      el("h1", {}, "Cannot show this page"),
      el("p", { class: "error", role: "alert", testid: "error" }, String(error.message || error)),
      el("p", {}, el("a", { href: "#/" }, "Back to all products")));
  }
  if (token !== renderToken) return; // a newer navigation has rendered meanwhile
  main.replaceChildren(view);
  const heading = main.querySelector("h1");
  document.title = `${heading ? heading.textContent : "Catalog"} · StreamMesh catalog`;
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// ---------------------------------------------------------------- catalog view

async function catalogView() {
  const products = await getJSON("/products");
  const byDomain = new Map();
  for (const product of products) {
    if (!byDomain.has(product.domain)) byDomain.set(product.domain, []);
    byDomain.get(product.domain).push(product);
  }
  const domains = [...byDomain.keys()].sort();
  return el("section", { testid: "catalog", "aria-labelledby": "catalog-title" },
    el("h1", { id: "catalog-title" }, "Data products"),
    el("p", { class: "meta", testid: "catalog-summary" },
      `${products.length} products in ${domains.length} domains`),
    domains.length === 0 ? el("p", { testid: "empty" }, "No product is registered yet.") : null,
    domains.map((domain) =>
      el("section", { testid: `domain-${domain}`, class: "domain", "aria-labelledby": `domain-${domain}-title` },
        el("h2", { id: `domain-${domain}-title` }, domain),
        el("ul", { class: "products" },
          byDomain.get(domain)
            .sort((a, b) => a.name.localeCompare(b.name) || a.major - b.major)
            .map(productCard)))));
}

function productCard(product) {
  const d = product.descriptor;
  return el("li", { class: "product", testid: `product-${product.ref}` },
    el("h3", {},
      el("a", { href: productHash(product.ref), testid: "product-link" }, `${product.name} v${product.major}`),
      " ", statusBadge(product.status)),
    el("p", { class: "meta" }, "Owner: ", el("span", { testid: "owner" }, d.team.name)),
    el("p", { testid: "description" }, d.description.purpose));
}

// ---------------------------------------------------------------- product view

async function productView(domain, name, major) {
  const query = major ? `?major=${major}` : "";
  const base = `/products/${encodeURIComponent(domain)}/${encodeURIComponent(name)}`;
  const [product, lineage] = await Promise.all([
    getJSON(base + query),
    getJSON(`${base}/lineage${query}`),
  ]);
  const d = product.descriptor;
  const [current, versions, monitor] = await Promise.all([
    getJSON(`${subjectPath(product.valueSubject)}/${product.valueVersion}`),
    getJSON(subjectPath(product.valueSubject)).catch(() => [product.valueVersion]),
    monitorStatus(product.ref),
  ]);
  return el("article", { testid: "product-view", "data-ref": product.ref, "aria-labelledby": "product-title" },
    el("p", {}, el("a", { href: "#/", testid: "back-link" }, "← All products")),
    el("h1", { id: "product-title" },
      el("span", { testid: "product-title" }, product.ref), statusBadge(product.status)),
    overviewSection(product, d),
    fieldsSection(d, current),
    slosSection(d, monitor),
    qualitySection(d),
    lineageSection(lineage),
    versionsSection(product, versions, current));
}

function section(testid, title, ...children) {
  return el("section", { testid, "aria-labelledby": `${testid}-title` },
    el("h2", { id: `${testid}-title` }, title), ...children);
}

function fact(term, ...value) {
  return [el("dt", {}, term), el("dd", {}, ...value)];
}

function overviewSection(product, d) {
  const deprecation = d.deprecation;
  return section("overview", "Overview",
    el("dl", { class: "facts" },
      fact("Purpose", el("span", { testid: "purpose" }, d.description.purpose)),
      d.description.usage ? fact("Usage", d.description.usage) : null,
      d.description.limitations ? fact("Limitations", d.description.limitations) : null,
      fact("Owner", el("span", { testid: "owner" }, d.team.name), d.team.contact ? " · " : null,
        contactLink(d.team.contact)),
      fact("Domain", product.domain),
      fact("Topic", el("code", { testid: "topic" }, d.topic.name),
        ` · ${d.topic.partitions} partitions, ${d.topic.cleanupPolicy}, retention ${d.topic.retention}`),
      fact("Value subject", el("code", {}, product.valueSubject),
        ` · version ${product.valueVersion}, schema id ${product.valueSchemaId}`),
      (d.inputPorts || []).length
        ? fact("Inputs", (d.inputPorts || []).flatMap((ref, i) =>
          [i ? ", " : null, el("a", { href: productHash(ref) }, ref)]))
        : null,
      deprecation
        ? fact("Deprecation", el("span", { testid: "deprecation" },
          `sunset ${deprecation.sunset}`,
          deprecation.successor ? [" · successor ", el("a", { href: productHash(deprecation.successor) }, deprecation.successor)] : null,
          deprecation.note ? ` · ${deprecation.note}` : null))
        : null));
}

// Avro record fields flattened to dotted paths (records nested directly, in unions or arrays).
function avroFields(schema, prefix = "", namespace = "", seen = new Set()) {
  if (!schema || schema.type !== "record" || !Array.isArray(schema.fields)) return [];
  const ns = schema.namespace ?? namespace;
  const fullName = schema.name.includes(".") || !ns ? schema.name : `${ns}.${schema.name}`;
  if (seen.has(fullName)) return []; // a recursive type: list it once
  seen.add(fullName);
  return schema.fields.flatMap((field) => {
    const path = prefix ? `${prefix}.${field.name}` : field.name;
    const row = { path, fullName: `${fullName}.${field.name}`, type: typeName(field.type),
      doc: field.doc || "", tags: field["confluent:tags"] || [] };
    return [row, ...nestedRecords(field.type).flatMap((r) => avroFields(r, path, ns, seen))];
  });
}

function nestedRecords(type) {
  if (Array.isArray(type)) return type.flatMap(nestedRecords);
  if (type && typeof type === "object") {
    if (type.type === "record") return [type];
    if (type.type === "array") return nestedRecords(type.items);
    if (type.type === "map") return nestedRecords(type.values);
  }
  return [];
}

function typeName(type) {
  if (Array.isArray(type)) return type.map(typeName).join(" | ");
  if (typeof type === "string") return type;
  if (type.logicalType) return type.logicalType;
  if (type.type === "array") return `array<${typeName(type.items)}>`;
  if (type.type === "map") return `map<${typeName(type.values)}>`;
  if (type.type === "enum") return `enum ${type.name}`;
  if (type.type === "record") return `record ${type.name}`;
  return type.type;
}

function fieldsSection(d, current) {
  let schema;
  try {
    schema = JSON.parse(current.schema);
  } catch {
    return section("fields", "Fields", el("p", {}, "The value schema is not Avro JSON."));
  }
  const metadataTags = current.metadata?.tags || {};
  const notes = d.fields || {};
  const rows = avroFields(schema).map((field) => {
    const note = notes[field.path] || {};
    const tags = new Set([...field.tags, ...(metadataTags[field.fullName] || []), ...(note.tags || [])]);
    if (note.classification) tags.delete(note.classification.toUpperCase());
    return el("tr", { testid: `field-${field.path}` },
      el("th", { scope: "row" }, el("code", {}, field.path)),
      el("td", {}, el("code", {}, field.type)),
      el("td", { testid: "classification" }, note.classification || ""),
      el("td", { testid: "tags" }, [...tags].sort().map((tag) =>
        el("span", { class: `tag${tag.toUpperCase() === "PII" ? " tag-pii" : ""}`, testid: "tag" }, tag))),
      el("td", {}, field.doc));
  });
  return section("fields", "Fields",
    el("table", {},
      el("caption", { class: "meta" }, `From the registered value schema, version ${current.version}`),
      el("thead", {}, el("tr", {},
        ["Field", "Type", "Classification", "Tags", "Description"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

// ---------------------------------------------------------------- SLOs

const pick = (entry, ...names) => names.map((n) => entry[n]).find((v) => v !== undefined && v !== null);
const percent = (ratio) => `${(ratio * 100).toFixed(ratio >= 0.99 ? 2 : 1)} %`;
const verdict = (ok) => el("span", { class: ok ? "ok" : "bad", testid: "slo-verdict" }, ok ? "met" : "breached");

function slosSection(d, monitor) {
  const slos = d.slos || {};
  const entry = monitor.state === "ok" ? monitor.entry : null;
  const verdicts = [];
  const live = (ok, text) => {
    verdicts.push(ok);
    return el("span", { testid: "slo-live" }, ` · now ${text} `, verdict(ok));
  };
  const items = [];
  if (slos.freshness) {
    const now = entry && pick(entry, "freshnessSeconds", "freshness_seconds", "freshness");
    items.push(el("li", { testid: "slo-freshness" },
      el("strong", {}, "Freshness"), `: newest record at most ${slos.freshness.seconds} s old (over ${slos.freshness.window})`,
      typeof now === "number" ? live(now <= slos.freshness.seconds, `${now.toFixed(1)} s`) : null));
  }
  if (slos.completeness) {
    const now = entry && pick(entry, "completenessRatio", "completeness_ratio", "completeness");
    items.push(el("li", { testid: "slo-completeness" },
      el("strong", {}, "Completeness"), `: at least ${percent(slos.completeness.ratio)} (over ${slos.completeness.window})`,
      typeof now === "number" ? live(now >= slos.completeness.ratio, percent(now)) : null));
  }
  if (slos.availability) {
    const now = entry && pick(entry, "availabilityRatio", "availability_ratio", "availability", "available");
    items.push(el("li", { testid: "slo-availability" },
      el("strong", {}, "Availability"), `: at least ${percent(slos.availability.ratio)} (over ${slos.availability.window})`,
      typeof now === "number" ? live(now >= slos.availability.ratio, percent(now)) : null,
      typeof now === "boolean" ? live(now, now ? "available" : "unavailable") : null));
  }
  let summary;
  if (entry) {
    const state = verdicts.length === 0 ? "reported" : verdicts.every(Boolean) ? "met" : "breached";
    summary = `SLO status: ${state} (live from the quality monitor)`;
  } else {
    const why = { absent: "no quality monitor configured", failed: `quality monitor ${monitor.reason}`,
      unwatched: "the quality monitor does not watch this product" }[monitor.state];
    summary = `SLO status: unknown (${why})`;
  }
  return section("slos", "Service levels",
    items.length ? el("ul", { class: "slos" }, items) : el("p", {}, "No SLOs declared."),
    el("p", { testid: "slo-status", role: "status" }, summary),
    entry ? monitorFacts(entry) : null);
}

// Whatever the monitor says about freshness, completeness and violations, as it says it.
function monitorFacts(entry) {
  const wanted = /fresh|complet|violat|fail|check|avail|lag|breach/i;
  const facts = Object.entries(entry)
    .filter(([key, value]) => wanted.test(key) && (value === null || typeof value !== "object"))
    .flatMap(([key, value]) => fact(key, el("span", { testid: `monitor-${key}` }, String(value))));
  return facts.length ? el("dl", { class: "facts", testid: "monitor-fields" }, facts) : null;
}

function qualitySection(d) {
  const rules = d.quality || [];
  return section("quality", "Quality rules",
    rules.length === 0 ? el("p", {}, "No quality rules declared.") :
      el("ul", { class: "rules" }, rules.map((rule) => {
        const target = rule.field ? `field ${rule.field}` : rule.tags?.length ? `fields tagged ${rule.tags.join(", ")}` : "the whole record";
        return el("li", { testid: `rule-${rule.name}` },
          el("strong", {}, el("code", {}, rule.name)),
          ` (${[rule.dimension, target, rule.onFailure ? `on failure ${rule.onFailure}` : null].filter(Boolean).join("; ")}): `,
          rule.description ? `${rule.description} ` : null,
          el("code", { testid: "expr" }, rule.expr));
      })));
}

// ---------------------------------------------------------------- lineage graph

const NODE_W = 270;
const NODE_H = 46;
const COL_GAP = 70;
const ROW_GAP = 18;
const PAD = 12;

// Layer of each node: the root at 0, upstream nodes left of it (negative) and downstream
// right (positive), each at its longest distance so every edge points rightwards.
function layers(graph) {
  const outgoing = new Map();
  const incoming = new Map();
  for (const { source, target } of graph.edges) {
    if (!outgoing.has(source)) outgoing.set(source, []);
    if (!incoming.has(target)) incoming.set(target, []);
    outgoing.get(source).push(target);
    incoming.get(target).push(source);
  }
  const depth = new Map([[graph.root, 0]]);
  const walk = (start, next, sign) => {
    const queue = [start];
    for (let steps = 0; queue.length && steps < 10000; steps++) { // the step cap survives cycles
      const ref = queue.shift();
      for (const other of next.get(ref) || []) {
        if (other === graph.root) continue;
        const candidate = depth.get(ref) + sign;
        const known = depth.get(other);
        if (known === undefined || (sign < 0 ? candidate < known : candidate > known)) {
          depth.set(other, candidate);
          queue.push(other);
        }
      }
    }
  };
  walk(graph.root, incoming, -1);
  walk(graph.root, outgoing, +1);
  for (const node of graph.nodes) if (!depth.has(node.ref)) depth.set(node.ref, 0);
  return depth;
}

function lineageSvg(graph) {
  const depth = layers(graph);
  const columns = [...new Set(depth.values())].sort((a, b) => a - b);
  const byRef = new Map(graph.nodes.map((n) => [n.ref, n]));
  const position = new Map();
  const rowsOf = columns.map((col) => [...depth.entries()].filter(([, d]) => d === col).map(([ref]) => ref).sort());
  const tallest = Math.max(...rowsOf.map((rows) => rows.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const width = PAD * 2 + columns.length * NODE_W + (columns.length - 1) * COL_GAP;
  rowsOf.forEach((rows, c) => {
    const columnHeight = rows.length * NODE_H + (rows.length - 1) * ROW_GAP;
    const top = (height - columnHeight) / 2;
    rows.forEach((ref, r) => position.set(ref, { x: PAD + c * (NODE_W + COL_GAP), y: top + r * (NODE_H + ROW_GAP) }));
  });
  const edges = graph.edges.filter((e) => position.has(e.source) && position.has(e.target)).map((e) => {
    const a = position.get(e.source);
    const b = position.get(e.target);
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x - 2;
    const y2 = b.y + NODE_H / 2;
    const bend = Math.max(30, (x2 - x1) / 2);
    return svg("path", { class: "edge", "marker-end": "url(#arrow)", testid: `lineage-edge-${e.source}->${e.target}`,
      d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` });
  });
  const nodes = [...position.entries()].map(([ref, { x, y }]) => lineageNode(ref, byRef.get(ref), graph, x, y));
  return svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "group",
    "aria-labelledby": "lineage-title", testid: "lineage-graph" },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" },
      svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))),
    edges, nodes);
}

function lineageNode(ref, node, graph, x, y) {
  const role = ref === graph.root ? "root" : graph.upstream.includes(ref) ? "upstream" : "downstream";
  const status = node?.status || null;
  const parts = parseRef(ref);
  const title = parts ? `${parts.name} v${parts.major}` : ref;
  const clip = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
  const sub = [parts?.domain, node?.owner, status || "not in catalog"].filter(Boolean).join(" · ");
  const body = [
    svg("title", {}, `${ref} (${role}${node?.owner ? `, owned by ${node.owner}` : ""}${status ? `, ${status}` : ", not in the catalog"})`),
    svg("rect", { x, y, width: NODE_W, height: NODE_H, rx: 6 }),
    svg("text", { x: x + 10, y: y + 19 }, clip(title, 30)),
    svg("text", { x: x + 10, y: y + 36, class: "sub" }, clip(sub, 42)),
  ];
  const classes = `node ${role}${status ? "" : " missing"}`;
  const attrs = { class: classes, testid: `lineage-node-${ref}`, "data-role": role };
  // The root is the page itself, and a node outside the catalog has no page: neither links.
  if (role === "root" || !status) return svg("g", { ...attrs, "aria-current": role === "root" ? "page" : null }, body);
  return svg("a", { ...attrs, href: productHash(ref) }, body);
}

function lineageSection(graph) {
  const list = (title, testid, refs) => el("div", {},
    el("h3", {}, title),
    refs.length === 0 ? el("p", { class: "meta" }, "none") :
      el("ul", { testid }, refs.map((ref) => el("li", {}, el("a", { href: productHash(ref) }, ref)))));
  return section("lineage", "Lineage",
    el("div", { class: "lineage" }, lineageSvg(graph)),
    list("Upstream (inputs)", "lineage-upstream", graph.upstream),
    list("Downstream (consumers)", "lineage-downstream", graph.downstream));
}

// ---------------------------------------------------------------- schema versions

function versionsSection(product, versions, current) {
  const cache = new Map([[current.version, current]]);
  const schemaText = el("pre", { class: "schema", testid: "schema-text", tabindex: 0 }, pretty(current.schema));
  const caption = el("p", { class: "meta", testid: "schema-caption" }, versionCaption(current));
  const buttons = new Map();
  const select = async (version) => {
    for (const [v, button] of buttons) button.setAttribute("aria-pressed", String(v === version));
    try {
      if (!cache.has(version)) cache.set(version, await getJSON(`${subjectPath(product.valueSubject)}/${version}`));
      const chosen = cache.get(version);
      caption.textContent = versionCaption(chosen);
      schemaText.textContent = pretty(chosen.schema);
    } catch (error) {
      caption.textContent = `Cannot read version ${version}: ${error.message}`;
    }
  };
  const items = [...versions].sort((a, b) => b - a).map((version) => {
    const label = el("span", { testid: "schema-id" }, "");
    const button = el("button", { type: "button", testid: `version-${version}`, "aria-pressed": String(version === current.version),
      onclick: () => select(version) }, `Version ${version} · id `, label);
    buttons.set(version, button);
    // Each version's id, read in the background so the page shows at once.
    (cache.has(version) ? Promise.resolve(cache.get(version)) : getJSON(`${subjectPath(product.valueSubject)}/${version}`))
      .then((v) => { cache.set(version, v); label.textContent = String(v.id); })
      .catch(() => { label.textContent = "?"; });
    return el("li", {}, button);
  });
  return section("versions", "Schema versions",
    el("p", { class: "meta" }, "Subject ", el("code", {}, product.valueSubject)),
    el("ul", { class: "versions", testid: "version-list" }, items),
    caption, schemaText);
}

const versionCaption = (v) => `Version ${v.version}, schema id ${v.id}`;

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

// ---------------------------------------------------------------- start

async function showMonitor() {
  const configured = await monitor();
  const target = document.querySelector("[data-testid=monitor-state]");
  if (!configured) target.replaceChildren("Quality monitor: not configured");
  else {
    target.replaceChildren("Quality monitor: ", externalLink(configured.given, { testid: "monitor-url" }),
      configured.url ? "" : " (not an http(s) URL: not used)");
  }
}

window.addEventListener("hashchange", route);
route();
showMonitor();
