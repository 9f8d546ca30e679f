/**
 * A TCP proxy on 127.0.0.1 that injects faults into chosen connections: cut the request after N
 * bytes (the server "dies" mid-upload), cut the response after N bytes, or stall (accept and
 * never answer). Every connection and pump is tracked and torn down by `close()`.
 */

export type Fault =
  | { kind: "pass" }
  | { kind: "cut_request"; afterBytes: number }
  | { kind: "cut_response"; afterBytes: number }
  | { kind: "stall"; onStall?: () => void }
  /** Cut the response after `afterBytes` once a request line matching `requestLine` passed. */
  | { kind: "cut_response_after_request"; requestLine: RegExp; afterBytes: number; once: boolean };

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

export class FaultProxy {
  readonly #listener: Deno.Listener;
  readonly #plan: (connectionIndex: number) => Fault;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #acceptLoop: Promise<void>;
  #closed = false;
  /** Connections accepted so far. */
  connections = 0;
  /** Faults that actually fired. */
  readonly fired: string[] = [];

  private constructor(upstreamPort: number, plan: (connectionIndex: number) => Fault) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#plan = plan;
    this.#acceptLoop = this.#accept(upstreamPort);
  }

  static start(upstreamPort: number, plan: (connectionIndex: number) => Fault): FaultProxy {
    return new FaultProxy(upstreamPort, plan);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  async #accept(upstreamPort: number): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await this.#listener.accept();
      } catch {
        return; // listener closed
      }
      const fault = this.#plan(this.connections++);
      const task = this.#handle(client, upstreamPort, fault);
      this.#tasks.add(task);
      task.finally(() => this.#tasks.delete(task));
    }
  }

  #track(conn: Deno.Conn): Deno.Conn {
    this.#conns.add(conn);
    return conn;
  }

  #drop(conn: Deno.Conn): void {
    if (this.#conns.delete(conn)) {
      try {
        conn.close();
      } catch {
        // Already closed by the peer side; nothing left to release.
      }
    }
  }

  async #handle(client: Deno.Conn, upstreamPort: number, fault: Fault): Promise<void> {
    this.#track(client);
    if (fault.kind === "stall") {
      const buffer = new Uint8Array(64 * 1024);
      let notified = false;
      for (;;) {
        const n = await client.read(buffer).catch(() => null);
        if (n === null) break;
        if (!notified) {
          notified = true;
          this.fired.push("stall");
          fault.onStall?.();
        }
      }
      this.#drop(client);
      return;
    }
    let upstream: Deno.Conn;
    try {
      upstream = this.#track(await Deno.connect({ hostname: "127.0.0.1", port: upstreamPort }));
    } catch {
      this.#drop(client);
      return;
    }
    const cutBoth = (what: string) => {
      this.fired.push(what);
      this.#drop(client);
      this.#drop(upstream);
    };
    let armedAt: number | null = null;
    let responseBytes = 0;
    const pump = async (from: Deno.Conn, to: Deno.Conn, limit: number | null, label: string) => {
      const buffer = new Uint8Array(64 * 1024);
      let total = 0;
      const upstreamSide = from === upstream;
      for (;;) {
        const n = await from.read(buffer).catch(() => null);
        if (n === null) break;
        if (fault.kind === "cut_response_after_request") {
          if (!upstreamSide && armedAt === null && !(fault.once && this.fired.length > 0)) {
            const text = new TextDecoder("latin1").decode(buffer.subarray(0, n));
            if (text.split("\r\n").some((line) => fault.requestLine.test(line))) {
              armedAt = responseBytes;
            }
          }
          if (upstreamSide && armedAt !== null && responseBytes + n - armedAt >= fault.afterBytes) {
            await writeAll(to, buffer.subarray(0, fault.afterBytes - (responseBytes - armedAt)))
              .catch(() => undefined);
            cutBoth("cut_response");
            return;
          }
          if (upstreamSide) responseBytes += n;
        }
        if (limit !== null && total + n >= limit) {
          await writeAll(to, buffer.subarray(0, limit - total)).catch(() => undefined);
          cutBoth(label);
          return;
        }
        total += n;
        const ok = await writeAll(to, buffer.subarray(0, n)).then(() => true, () => false);
        if (!ok) break;
      }
      // One side finished: end the whole connection so the other pump stops too.
      this.#drop(client);
      this.#drop(upstream);
    };
    await Promise.all([
      pump(client, upstream, fault.kind === "cut_request" ? fault.afterBytes : null, "cut_request"),
      pump(
        upstream,
        client,
        fault.kind === "cut_response" ? fault.afterBytes : null,
        "cut_response",
      ),
    ]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    await this.#acceptLoop;
    for (const conn of [...this.#conns]) this.#drop(conn);
    await Promise.all([...this.#tasks]);
  }
}
