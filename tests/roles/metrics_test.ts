import { deepStrictEqual, match, throws } from "node:assert/strict";
import { declareRoleMetrics, Metrics } from "../../src/roles/metrics.ts";

Deno.test("Metrics.render() writes HELP, TYPE and labelled samples in the text format", () => {
  const m = new Metrics();
  m.declare("grail_rollouts_rejected_total", "counter", "Rollouts rejected");
  m.inc("grail_rollouts_rejected_total", { reason: "proof_valid" }, 16);
  m.inc("grail_rollouts_rejected_total", { reason: 'we"ird\n' });
  deepStrictEqual(
    m.render(),
    [
      "# HELP grail_rollouts_rejected_total Rollouts rejected",
      "# TYPE grail_rollouts_rejected_total counter",
      'grail_rollouts_rejected_total{reason="proof_valid"} 16',
      'grail_rollouts_rejected_total{reason="we\\"ird\\n"} 1',
      "",
    ].join("\n"),
  );
});

Deno.test("Metrics.observe() keeps a summary's sum and count", () => {
  const m = new Metrics();
  m.declare("grail_upload_seconds", "summary", "Upload latency");
  m.observe("grail_upload_seconds", 0.25);
  m.observe("grail_upload_seconds", 0.5);
  match(m.render(), /grail_upload_seconds_sum 0\.75\ngrail_upload_seconds_count 2\n/);
});

Deno.test("Metrics.set() overwrites a gauge and value() reads it", () => {
  const m = new Metrics();
  m.declare("grail_weight", "gauge", "Weight");
  m.set("grail_weight", 0.5, { uid: "2" });
  m.set("grail_weight", 0.25, { uid: "2" });
  deepStrictEqual(m.value("grail_weight", { uid: "2" }), 0.25);
  deepStrictEqual(m.value("grail_weight", { uid: "3" }), 0);
});

Deno.test("Metrics refuses undeclared metrics, bad names and negative increments", () => {
  const m = new Metrics();
  throws(() => m.inc("nope"), RangeError);
  throws(() => m.declare("bad name", "gauge", "x"), RangeError);
  m.declare("c", "counter", "c");
  throws(() => m.inc("c", {}, -1), RangeError);
  throws(() => m.declare("c", "gauge", "c"), RangeError);
});

Deno.test("declareRoleMetrics() declares every metric docs/roles.md lists", async () => {
  const text = declareRoleMetrics(new Metrics()).render();
  const doc = await Deno.readTextFile(new URL("../../docs/roles.md", import.meta.url));
  for (const [, name] of text.matchAll(/^# TYPE (\S+)/gm)) match(doc, new RegExp(`\`${name}\``));
});

Deno.test("Metrics.serve() answers /metrics on loopback and 404 elsewhere", async () => {
  const m = new Metrics();
  m.declare("grail_head_block", "gauge", "Head");
  m.set("grail_head_block", 91);
  const server = await m.serve(0);
  try {
    match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const ok = await fetch(`${server.url}/metrics`);
    deepStrictEqual(ok.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    match(await ok.text(), /grail_head_block 91/);
    const missing = await fetch(`${server.url}/other`);
    await missing.body?.cancel();
    deepStrictEqual(missing.status, 404);
  } finally {
    await server.close();
  }
});
