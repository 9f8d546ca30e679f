/**
 * A Substrate JSON-RPC endpoint on 127.0.0.1 that the tests control, for fault injection: it
 * answers the calls `@polkadot/api` makes while connecting (with the generic Substrate node
 * metadata shipped in @polkadot/types-support, not subtensor's) plus headers and block hashes,
 * and can drop the connection or go silent on request.
 */

import metadataHex from "@polkadot/types-support/metadata/static-substrate";
import { version as runtimeVersion } from "@polkadot/types-support/metadata/static-substrate";
import metadataJson from "@polkadot/types-support/metadata/v14/substrate-json.json" with {
  type: "json",
};
import { compactToU8a, hexToU8a, u8aConcat, u8aToHex } from "@polkadot/util";

/** How the node treats requests. */
export type FakeNodeMode =
  | "normal" // answer everything
  | "silent" // accept connections, answer nothing
  | "close_on_open" // close each socket as soon as it opens
  | "drop_on_header" // answer the connection set-up, close the socket on chain_getHeader
  | "silent_on_header"; // answer the connection set-up, never answer chain_getHeader

const ZERO_HASH = "0x" + "00".repeat(32);
/** Storage key of `Timestamp.Now`: twox128("Timestamp") ++ twox128("Now"). */
const TIMESTAMP_NOW_KEY = "0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb";
const TIMESTAMP_PALLET_INDEX: number =
  metadataJson.metadata.v14.pallets.find((p) => p.name === "Timestamp")!.index;

/** `Timestamp.Now` of each fake block, ms. */
export function fakeTimestampMs(block: number): number {
  return 1_700_000_000_000 + block * 12_000;
}

/** The unsigned `Timestamp.set(now)` inherent, SCALE-encoded as an extrinsic (v4, unsigned). */
function timestampInherent(nowMs: number): string {
  // call = pallet index, call index 0 (`set`, the pallet's only call), Compact<u64> now.
  const body = u8aConcat(
    new Uint8Array([0x04, TIMESTAMP_PALLET_INDEX, 0]),
    compactToU8a(BigInt(nowMs)),
  );
  return u8aToHex(u8aConcat(compactToU8a(body.length), body));
}

/** Block hash of the fake chain: lower-case, distinct per block. */
export function fakeBlockHash(block: number): string {
  return "0x" + (block + 1).toString(16).padStart(2, "0").repeat(32).slice(0, 64);
}

export class FakeSubstrateNode {
  readonly url: string;
  mode: FakeNodeMode;
  head = 40;
  /** When true, state queries fail like a pruned (non-archive) node's. */
  prunedState = false;
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

  #blockOf(hash: unknown): number {
    if (hash === undefined || hash === null) return this.head;
    for (let block = 0; block <= this.head; block++) {
      if (fakeBlockHash(block) === hash) return block;
    }
    throw new Error(`fake node: unknown block hash ${hash}`);
  }

  #header(hash: unknown) {
    const block = this.#blockOf(hash);
    return {
      parentHash: block === 0 ? ZERO_HASH : fakeBlockHash(block - 1),
      number: "0x" + block.toString(16),
      stateRoot: ZERO_HASH,
      extrinsicsRoot: ZERO_HASH,
      digest: { logs: [] },
    };
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
        return { result: this.#header(params[0]) };
      case "chain_getBlock":
        return {
          result: {
            block: {
              header: this.#header(params[0]),
              extrinsics: [timestampInherent(fakeTimestampMs(this.#blockOf(params[0])))],
            },
            justifications: null,
          },
        };
      case "state_getStorage": {
        if (this.prunedState) {
          return { error: { code: 4003, message: `State already discarded for ${params[1]}` } };
        }
        if (params[0] !== TIMESTAMP_NOW_KEY) return { result: null };
        const now = BigInt(fakeTimestampMs(this.#blockOf(params[1])));
        const bytes = new Uint8Array(8);
        new DataView(bytes.buffer).setBigUint64(0, now, true);
        return { result: u8aToHex(bytes) };
      }
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
  "chain_getBlock",
  "chain_getBlockHash",
  "chain_getHeader",
  "rpc_methods",
  "state_call",
  "state_getMetadata",
  "state_getStorage",
  "state_getRuntimeVersion",
  "state_subscribeRuntimeVersion",
  "state_unsubscribeRuntimeVersion",
  "system_chain",
  "system_health",
  "system_properties",
];
