import { assert, assertEquals, assertRejectsWithCode } from "./_assert.ts";
import { FolderStore } from "../../src/net/folder_store.ts";
import { StorageError } from "../../src/net/errors.ts";
import { objectStoreContract } from "./_object_store_contract.ts";

async function withFolder(
  body: (store: FolderStore, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "folder-store-" });
  try {
    await body(new FolderStore(root), root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

objectStoreContract("FolderStore", (body) => withFolder((store) => body(store)), 1000);

Deno.test("FolderStore.put() leaves no temporary file behind", () =>
  withFolder(async (store, root) => {
    await store.put("a/b.bin", new Uint8Array(10));
    assertEquals(await Array.fromAsync(Deno.readDir(`${root}/.tmp`)), []);
  }));

Deno.test("FolderStore.put() that fails leaves the old object intact and no temp file", () =>
  withFolder(async (store, root) => {
    await store.put("a/b.bin", new Uint8Array([1, 2, 3]));
    // A directory where the file must go makes the final rename fail after the temp write.
    await Deno.mkdir(`${root}/a/c.bin/child`, { recursive: true });
    await assertRejectsWithCode(() => store.put("a/c.bin", new Uint8Array(5)), StorageError, "io");
    assertEquals(await store.get("a/b.bin"), new Uint8Array([1, 2, 3]));
    assertEquals(await Array.fromAsync(Deno.readDir(`${root}/.tmp`)), []);
  }));

Deno.test("FolderStore.head() reports the file's mtime floored to seconds", () =>
  withFolder(async (store, root) => {
    await store.put("m", new Uint8Array(1));
    await Deno.utime(`${root}/m`, 1_700_000_000.75, 1_700_000_000.75);
    assertEquals((await store.head("m"))?.lastModified.getTime(), 1_700_000_000_000);
  }));

Deno.test("FolderStore.list() skips its temporary folder", () =>
  withFolder(async (store, root) => {
    await Deno.mkdir(`${root}/.tmp`, { recursive: true });
    await Deno.writeFile(`${root}/.tmp/stray.tmp`, new Uint8Array(3));
    await store.put("x", new Uint8Array(1));
    assertEquals((await store.list("")).map((i) => i.key), ["x"]);
  }));

Deno.test("FolderStore refuses keys inside its temporary folder", () =>
  withFolder(async (store) => {
    const error = await assertRejectsWithCode(
      () => store.get(".tmp/x"),
      StorageError,
      "invalid_key",
    );
    assert(error.message.includes(".tmp/x"));
  }));
