/**
 * Behaviour every ObjectStore must have, run against FolderStore and S3Store (over s3rver).
 * `withStore` gives each case a fresh, empty store and tears it down.
 */

import { assert, assertEquals, assertRejectsWithCode } from "./_assert.ts";
import { StorageError } from "../../src/net/errors.ts";
import type { ObjectStore } from "../../src/net/storage.ts";

export type WithStore = (body: (store: ObjectStore) => Promise<void>) => Promise<void>;

const text = (s: string) => new TextEncoder().encode(s);

export function objectStoreContract(name: string, withStore: WithStore, clockSkewMs = 5000): void {
  Deno.test(`${name}.put() then get() returns the same bytes`, () =>
    withStore(async (store) => {
      const body = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
      await store.put("grail/windows/hk-window-30.parquet", body);
      assertEquals(await store.get("grail/windows/hk-window-30.parquet"), body);
    }));

  Deno.test(`${name}.put() stores an empty object`, () =>
    withStore(async (store) => {
      await store.put("empty", new Uint8Array(0));
      assertEquals((await store.get("empty")).length, 0);
      assertEquals((await store.head("empty"))?.sizeBytes, 0);
    }));

  Deno.test(`${name}.put() replaces an existing object whole`, () =>
    withStore(async (store) => {
      await store.put("k", text("first version, longer"));
      await store.put("k", text("second"));
      assertEquals(new TextDecoder().decode(await store.get("k")), "second");
    }));

  Deno.test(`${name}.get() of a missing key throws not_found`, () =>
    withStore(async (store) => {
      const error = await assertRejectsWithCode(
        () => store.get("grail/nothing"),
        StorageError,
        "not_found",
      );
      assertEquals((error as StorageError).key, "grail/nothing");
    }));

  Deno.test(`${name}.head() gives size and a whole-second LastModified near now`, () =>
    withStore(async (store) => {
      const before = Date.now();
      await store.put("a/b", text("12345"));
      const info = await store.head("a/b");
      assert(info !== null);
      assertEquals([info.key, info.sizeBytes], ["a/b", 5]);
      assertEquals(info.lastModified.getTime() % 1000, 0);
      // Tolerance: clock granularity (1 s floor) plus the given skew between server and test.
      assert(
        Math.abs(info.lastModified.getTime() - before) <= 1000 + clockSkewMs,
        `${info.lastModified}`,
      );
    }));

  Deno.test(`${name}.head() of a missing key is null`, () =>
    withStore(async (store) => {
      assertEquals(await store.head("missing"), null);
    }));

  Deno.test(`${name}.list() returns keys with the prefix, sorted, across folders`, () =>
    withStore(async (store) => {
      for (
        const key of [
          "grail/windows/b-window-30.parquet",
          "grail/windows/a-window-30.parquet",
          "grail/trust/t.json",
          "grail/windowsX",
          "other",
        ]
      ) {
        await store.put(key, text(key));
      }
      const listed = await store.list("grail/windows");
      assertEquals(listed.map((i) => i.key), [
        "grail/windows/a-window-30.parquet",
        "grail/windows/b-window-30.parquet",
        "grail/windowsX",
      ]);
      assertEquals(listed[0].sizeBytes, "grail/windows/a-window-30.parquet".length);
      assertEquals((await store.list("grail/windows/a")).length, 1);
      assertEquals((await store.list("")).length, 5);
    }));

  Deno.test(`${name}.list() of an unused prefix is empty`, () =>
    withStore(async (store) => {
      assertEquals(await store.list("grail/nothing/"), []);
    }));

  Deno.test(`${name}.delete() removes an object and ignores a missing one`, () =>
    withStore(async (store) => {
      await store.put("d/x", text("x"));
      await store.delete("d/x");
      assertEquals(await store.head("d/x"), null);
      await store.delete("d/x");
    }));

  Deno.test(`${name}.put() rejects a key with a '..' segment`, () =>
    withStore(async (store) => {
      await assertRejectsWithCode(
        () => store.put("a/../b", text("x")),
        StorageError,
        "invalid_key",
      );
    }));
}
