/**
 * Role metrics in the Prometheus text exposition format (version 0.0.4), served on loopback.
 * Counters, gauges and summaries (`_sum`/`_count`) with label sets; `render()` is the whole
 * exposition, so tests read it without a socket. docs/roles.md lists every metric.
 *
 * @module
 */

/** Metric types of the text format that the roles use. */
export type MetricKind = "counter" | "gauge" | "summary";

interface Family {
  help: string;
  kind: MetricKind;
  values: Map<
    string,
    { labels: Record<string, string>; value: number; sum?: number; count?: number }
  >;
}

function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function formatLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",")}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** A registry of metric families. */
export class Metrics {
  readonly #families = new Map<string, Family>();

  /**
   * Declares a metric (idempotent for the same name and kind).
   *
   * @param name Metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
   * @param kind counter, gauge or summary.
   * @param help One line of help.
   * @throws {RangeError} For a bad name or a redeclaration with another kind.
   *
   * @example
   * ```ts
   * import { Metrics } from "./metrics.ts";
   * const m = new Metrics();
   * m.declare("grail_windows_total", "counter", "Windows processed");
   * m.inc("grail_windows_total", { role: "miner" });
   * if (!m.render().includes('grail_windows_total{role="miner"} 1')) throw new Error(m.render());
   * ```
   */
  declare(name: string, kind: MetricKind, help: string): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) {
      throw new RangeError(
        `Invalid metric name ${JSON.stringify(name)}: expected [a-zA-Z_:][a-zA-Z0-9_:]*`,
      );
    }
    const f = this.#families.get(name);
    if (f !== undefined) {
      if (f.kind !== kind) throw new RangeError(`Metric ${name} is a ${f.kind}, not a ${kind}`);
      return;
    }
    this.#families.set(name, { help, kind, values: new Map() });
  }

  #entry(name: string, kind: MetricKind, labels: Record<string, string>) {
    const f = this.#families.get(name);
    if (f === undefined || f.kind !== kind) {
      throw new RangeError(`Metric ${name} is not a declared ${kind}; declare it first`);
    }
    const key = labelKey(labels);
    let e = f.values.get(key);
    if (e === undefined) {
      f.values.set(key, e = { labels: { ...labels }, value: 0, sum: 0, count: 0 });
    }
    return e;
  }

  /**
   * Adds to a counter.
   *
   * @param name Counter name.
   * @param labels Label set (default none).
   * @param by Amount ≥ 0 (default 1).
   * @throws {RangeError} For an undeclared counter or a negative amount.
   */
  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`Counter ${name} cannot grow by ${by}`);
    this.#entry(name, "counter", labels).value += by;
  }

  /**
   * Sets a gauge.
   *
   * @param name Gauge name.
   * @param value The value.
   * @param labels Label set (default none).
   * @throws {RangeError} For an undeclared gauge.
   */
  set(name: string, value: number, labels: Record<string, string> = {}): void {
    this.#entry(name, "gauge", labels).value = value;
  }

  /**
   * Records one observation of a summary (count and sum).
   *
   * @param name Summary name.
   * @param value The observation.
   * @param labels Label set (default none).
   * @throws {RangeError} For an undeclared summary.
   */
  observe(name: string, value: number, labels: Record<string, string> = {}): void {
    const e = this.#entry(name, "summary", labels);
    e.sum! += value;
    e.count! += 1;
  }

  /**
   * The current value of a counter or gauge (0 when never touched).
   *
   * @param name Metric name.
   * @param labels Label set.
   * @returns The value.
   */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.#families.get(name)?.values.get(labelKey(labels))?.value ?? 0;
  }

  /**
   * The exposition text.
   *
   * @returns Prometheus text format, families in declaration order.
   */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.#families) {
      out.push(`# HELP ${name} ${f.help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n")}`);
      out.push(`# TYPE ${name} ${f.kind}`);
      for (const e of f.values.values()) {
        const l = formatLabels(e.labels);
        if (f.kind === "summary") {
          out.push(`${name}_sum${l} ${formatValue(e.sum!)}`);
          out.push(`${name}_count${l} ${e.count}`);
        } else {
          out.push(`${name}${l} ${formatValue(e.value)}`);
        }
      }
    }
    return out.join("\n") + "\n";
  }

  /**
   * Serves `GET /metrics` on 127.0.0.1 (loopback only: the numbers are for the operator's
   * scraper, not the internet).
   *
   * @param port TCP port (0 picks a free one).
   * @returns The URL and a `close()`.
   *
   * @example
   * ```ts
   * import { Metrics } from "./metrics.ts";
   * const m = new Metrics();
   * m.declare("up", "gauge", "Up");
   * m.set("up", 1);
   * const server = await m.serve(0);
   * const text = await (await fetch(`${server.url}/metrics`)).text();
   * await server.close();
   * if (!text.includes("up 1")) throw new Error(text);
   * ```
   */
  serve(port: number): Promise<{ url: string; close(): Promise<void> }> {
    return new Promise((resolve) => {
      const server = Deno.serve({
        hostname: "127.0.0.1",
        port,
        onListen: ({ port }) =>
          resolve({ url: `http://127.0.0.1:${port}`, close: () => server.shutdown() }),
      }, (req) => {
        if (new URL(req.url).pathname !== "/metrics") {
          return new Response("not found\n", { status: 404 });
        }
        return new Response(this.render(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      });
    });
  }
}

/**
 * Declares the metrics both roles export (docs/roles.md explains each).
 *
 * @param m The registry.
 * @returns The same registry.
 *
 * @example
 * ```ts
 * import { declareRoleMetrics, Metrics } from "./metrics.ts";
 * const m = declareRoleMetrics(new Metrics());
 * if (!m.render().includes("# TYPE grail_rollouts_rejected_total counter")) throw new Error();
 * ```
 */
export function declareRoleMetrics(m: Metrics): Metrics {
  m.declare("grail_head_block", "gauge", "Chain head block last seen");
  m.declare("grail_window", "gauge", "Last window started (miner) or validated (validator)");
  m.declare("grail_windows_total", "counter", "Windows finished, by outcome");
  m.declare(
    "grail_rollouts_produced_total",
    "counter",
    "Rollouts generated and signed by the miner",
  );
  m.declare("grail_groups_dropped_total", "counter", "GRPO groups dropped by the miner, by reason");
  m.declare("grail_rollouts_uploaded_total", "counter", "Rollouts uploaded in window files");
  m.declare("grail_uploads_total", "counter", "Window file uploads, by outcome");
  m.declare("grail_upload_seconds", "summary", "Window file upload latency");
  m.declare("grail_generation_seconds", "summary", "Time to mine one GRPO group");
  m.declare("grail_miner_files_total", "counter", "Miner files seen by the validator, by outcome");
  m.declare("grail_rollouts_verified_total", "counter", "Rollouts that passed every check");
  m.declare("grail_rollouts_rejected_total", "counter", "Rollouts rejected, by first failed check");
  m.declare("grail_validation_seconds", "summary", "Time to validate one miner's file");
  m.declare("grail_weights_set_total", "counter", "set_weights submissions, by outcome");
  m.declare("grail_weight", "gauge", "Last weight set per uid (validator)");
  m.declare("grail_errors_total", "counter", "Errors caught by the role loop, by stage");
  return m;
}
