/**
 * A Substrate JSON-RPC endpoint on 127.0.0.1 that the tests control, for fault injection: it
 * answers the calls `@polkadot/api` makes while connecting (with the generic Substrate node
 * metadata shipped in @polkadot/types-support, not subtensor's) plus headers and block hashes,
 * and can drop the connection or go silent on request.
 */

import metadataHex from "@polkadot/types-support/metadata/static-substrate";
import { version as runtimeVersion } from "@polkadot/types-support/metadata/static-substrate";
import { compactToU8a, hexToU8a, u8aConcat, u8aToHex } from "@polkadot/util";

/** How the node treats requests. */
export type FakeNodeMode =
  | "normal" // answer everything
  | "silent" // accept connections, answer nothing
  | "close_on_open" // close each socket as soon as it opens
  | "drop_on_header" // answer the connection set-up, close the socket on chain_getHeader
  | "silent_on_header"; // answer the connection set-up, never answer chain_getHeader

const ZERO_HASH = "0x" + "00".repeat(32);

/** Block hash of the fake chain: lower-case, distinct per block. */
export function fakeBlockHash(block: number): string {
  return "0x" + (block + 1).toString(16).padStart(2, "0").repeat(32).slice(0, 64);
}

export class FakeSubstrateNode {
  readonly url: string;
  mode: FakeNodeMode;
  head = 40;
  /** Connections accepted so far. */
  connections = 0;
  readonly #server: Deno.HttpServer;
  readonly #sockets = new Set<WebSocket>();
  #onConnection: (() => void)[] = [];

  constructor(mode: FakeNodeMode = "normal") {
    this.mode = mode;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.url = `ws://127.0.0.1:${(this.#server.addr as Deno.NetAddr).port}`;
  }

  /** Resolves at the next accepted WebSocket connection. */
  nextConnection(): Promise<void> {
    return new Promise((resolve) => this.#onConnection.push(resolve));
  }

  /** Closes every open socket (the node "drops" its clients). */
  dropAll(): void {
    for (const socket of this.#sockets) socket.close(1001, "node going away");
  }

  async close(): Promise<void> {
    this.dropAll();
    await this.#server.shutdown();
  }

  #handle(request: Request): Response {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => {
      this.connections++;
      this.#sockets.add(socket);
      for (const resolve of this.#onConnection.splice(0)) resolve();
      if (this.mode === "close_on_open") socket.close(1011, "refusing clients");
    };
    socket.onclose = () => this.#sockets.delete(socket);
    socket.onmessage = (event) => {
      const request = JSON.parse(event.data);
      if (this.mode === "silent") return;
      if (request.method === "chain_getHeader") {
        if (this.mode === "drop_on_header") {
          socket.close(1001, "node going away");
          return;
        }
        if (this.mode === "silent_on_header") return;
      }
      const reply = this.#answer(request.method, request.params ?? []);
      const body = "error" in reply
        ? { jsonrpc: "2.0", id: request.id, error: reply.error }
        : { jsonrpc: "2.0", id: request.id, result: reply.result };
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(body));
    };
    return response;
  }

  #answer(method: string, params: unknown[]): { result: unknown } | { error: unknown } {
    switch (method) {
      case "rpc_methods":
        return { result: { version: 1, methods: METHODS } };
      case "chain_getBlockHash": {
        const block = params[0] === undefined ? this.head : Number(params[0]);
        return { result: block <= this.head ? fakeBlockHash(block) : null };
      }
      case "chain_getHeader":
        return {
          result: {
            parentHash: fakeBlockHash(this.head - 1),
            number: "0x" + this.head.toString(16),
            stateRoot: ZERO_HASH,
            extrinsicsRoot: ZERO_HASH,
            digest: { logs: [] },
          },
        };
      case "state_getRuntimeVersion":
        return { result: runtimeVersion };
      case "system_chain":
        return { result: "Fake" };
      case "system_properties":
        return { result: { ss58Format: 42, tokenDecimals: 9, tokenSymbol: "TAO" } };
      case "system_health":
        return { result: { peers: 0, isSyncing: false, shouldHavePeers: false } };
      case "state_getMetadata":
        return { result: metadataHex };
      case "state_call":
        if (params[0] === "Metadata_metadata_versions") {
          return { result: "0x040e000000" }; // Vec<u32> [14]
        }
        if (params[0] === "Metadata_metadata_at_version") {
          const bytes = hexToU8a(metadataHex);
          // Option<OpaqueMetadata>: Some, then the compact-length-prefixed bytes.
          return {
            result: u8aToHex(u8aConcat(new Uint8Array([1]), compactToU8a(bytes.length), bytes)),
          };
        }
        return { error: { code: -32000, message: `unknown runtime call ${params[0]}` } };
      case "state_subscribeRuntimeVersion":
        return { result: "runtime-version-subscription" };
      case "state_unsubscribeRuntimeVersion":
        return { result: true };
      default:
        return { error: { code: -32601, message: `Method not found: ${method}` } };
    }
  }
}

const METHODS = [
  "chain_getBlockHash",
  "chain_getHeader",
  "rpc_methods",
  "state_call",
  "state_getMetadata",
  "state_getRuntimeVersion",
  "state_subscribeRuntimeVersion",
  "state_unsubscribeRuntimeVersion",
  "system_chain",
  "system_health",
  "system_properties",
];
