// Golden data: tests/fixtures/net/wallets/golden, written with PyNaCl/libsodium from the public
// test vectors of bittensor-wallet (see tests/fixtures/net/README.md). Key checks are exact.
import { assert, assertEquals, assertRejectsWithCode } from "./_assert.ts";
import { cryptoWaitReady, sr25519Verify } from "@polkadot/util-crypto";
import { u8aToHex } from "@polkadot/util";
import { WalletError } from "../../src/net/errors.ts";
import {
  coldkeyPasswordVariable,
  createHotkey,
  createWallet,
  decryptKeyfile,
  defaultWalletRoot,
  KeyfileData,
  keyfileEncryption,
  loadColdkey,
  loadColdkeyPub,
  loadHotkey,
  walletPaths,
} from "../../src/net/wallet.ts";

const ROOT = new URL("../fixtures/net/wallets", import.meta.url).pathname;
const GOLDEN = { root: ROOT, name: "golden" };
const PASSWORD = "grail-test-password";
const ADDRESS = "5HDvhV6WDCjCKyrXqGQSDYqQAzkzabNhctmiDYEqgBC66BsX";
const PUBLIC_KEY = "0xe4359ad3e2716c539a1d663ebd0a51bdc5c98a12e663bb4c4402db47828c9446";
const MNEMONIC = "old leopard transfer rib spatial phone calm indicate online fire caution review";
const PRIVATE_KEY = "0x1f1995bdf3a17b60626a26cfe6f564b337d46056b7a1281b64c649d592ccda0a" +
  "9cffd34d9fb01cae1fba61aeed184c817442a2186d5172416729a4b54dd4b84e";

async function signsFor(
  pair: { sign(m: Uint8Array): Uint8Array },
  publicKey: string,
): Promise<boolean> {
  await cryptoWaitReady();
  const message = new TextEncoder().encode("grail commit binding");
  return sr25519Verify(message, pair.sign(message), publicKey);
}

async function withTempRoot(body: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "wallets-" });
  try {
    await body(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

for (const hotkey of ["from_phrase", "from_seed", "from_private_key"]) {
  Deno.test(`loadHotkey() loads the ${hotkey} keyfile to the published address and signs for it`, async () => {
    const pair = await loadHotkey({ ...GOLDEN, hotkey });
    assertEquals(pair.address, ADDRESS);
    assertEquals(u8aToHex(pair.publicKey), PUBLIC_KEY);
    assert(await signsFor(pair, PUBLIC_KEY));
  });
}

Deno.test("loadHotkey() refuses an address-only keyfile as no_secret", async () => {
  await assertRejectsWithCode(
    () => loadHotkey({ ...GOLDEN, hotkey: "address_only" }),
    WalletError,
    "no_secret",
  );
});

Deno.test("loadHotkey() refuses a keyfile whose address does not match its secret", async () => {
  const error = await assertRejectsWithCode(
    () => loadHotkey({ ...GOLDEN, hotkey: "wrong_address" }),
    WalletError,
    "key_mismatch",
  );
  assert(error.message.includes("5GrwvaEF"));
});

Deno.test("loadHotkey() of a missing hotkey names the path", async () => {
  const error = await assertRejectsWithCode(
    () => loadHotkey({ ...GOLDEN, hotkey: "nope" }),
    WalletError,
    "not_found",
  );
  assert(error.message.includes("golden/hotkeys/nope"));
});

Deno.test("loadColdkey() decrypts the libsodium-encrypted coldkey with its password", async () => {
  const pair = await loadColdkey(GOLDEN, PASSWORD);
  assertEquals(pair.address, ADDRESS);
  assert(await signsFor(pair, PUBLIC_KEY));
});

Deno.test("loadColdkey() with a wrong password fails as bad_password without echoing it", async () => {
  const error = await assertRejectsWithCode(
    () => loadColdkey(GOLDEN, "not-the-password"),
    WalletError,
    "bad_password",
  );
  assert(!error.message.includes("not-the-password"));
});

Deno.test("loadColdkey() of an encrypted coldkey without a password asks for one", async () => {
  await assertRejectsWithCode(() => loadColdkey(GOLDEN), WalletError, "password_required");
});

Deno.test("loadColdkeyPub() reads the public coldkey without a password", async () => {
  const pub = await loadColdkeyPub(GOLDEN);
  assertEquals([pub.ss58Address, u8aToHex(pub.publicKey)], [ADDRESS, PUBLIC_KEY]);
});

Deno.test("keyfileEncryption() recognises the reference's header prefixes", () => {
  const enc = (s: string) => keyfileEncryption(new TextEncoder().encode(s));
  assertEquals(
    [enc("$NACL\x00"), enc("$ANSIBLE_VAULT;1.1"), enc("gAAAAABk"), enc("{}")],
    ["nacl", "ansible_vault", "legacy_fernet", "none"],
  );
});

Deno.test("decryptKeyfile() refuses legacy encryption with a clear error", async () => {
  const error = await assertRejectsWithCode(
    () =>
      decryptKeyfile(
        new TextEncoder().encode("$ANSIBLE_VAULT;1.1;AES256\n3132"),
        "pw",
        "/w/coldkey",
      ),
    WalletError,
    "unsupported_encryption",
  );
  assert(error.message.includes("/w/coldkey"));
});

Deno.test("decryptKeyfile() refuses a truncated NaCl file before deriving a key", async () => {
  await assertRejectsWithCode(
    () => decryptKeyfile(new TextEncoder().encode("$NACL0123"), "pw"),
    WalletError,
    "malformed",
  );
});

Deno.test("KeyfileData keeps secrets out of JSON and inspection", async () => {
  const bytes = await Deno.readFile(walletPaths({ ...GOLDEN, hotkey: "from_phrase" }).hotkey);
  const data = KeyfileData.parse(bytes, "from_phrase");
  for (const shown of [JSON.stringify(data), Deno.inspect(data), Deno.inspect({ data })]) {
    assert(!shown.includes("leopard") && !shown.includes(PRIVATE_KEY.slice(2, 20)), shown);
  }
  assertEquals(data.secretPhrase, MNEMONIC);
});

Deno.test("KeyfileData.parse() names a field of the wrong type", () => {
  let caught: unknown;
  try {
    KeyfileData.parse(new TextEncoder().encode('{"secretSeed": 5}'), "k");
  } catch (error) {
    caught = error;
  }
  assert(
    caught instanceof WalletError && caught.code === "malformed" &&
      caught.message.includes("secretSeed"),
  );
});

Deno.test("createWallet() writes bittensor's keyfile fields with the reference private key form", () =>
  withTempRoot(async (root) => {
    const { hotkey } = await createWallet({
      root,
      name: "w",
      hotkey: "h",
      coldkeyPassword: null,
      hotkeyMnemonic: MNEMONIC,
    });
    assertEquals(hotkey.address, ADDRESS);
    const written = JSON.parse(await Deno.readTextFile(`${root}/w/hotkeys/h`));
    // privateKey must match bittensor-wallet's published value for this mnemonic, exactly.
    assertEquals(written.privateKey, PRIVATE_KEY);
    assertEquals([written.publicKey, written.accountId, written.ss58Address], [
      PUBLIC_KEY,
      PUBLIC_KEY,
      ADDRESS,
    ]);
    assertEquals(written.secretPhrase, MNEMONIC);
  }));

Deno.test("createWallet() writes every file with mode 0600 and loads back", () =>
  withTempRoot(async (root) => {
    const created = await createWallet({ root, name: "w", hotkey: "h", coldkeyPassword: null });
    for (const path of Object.values(walletPaths({ root, name: "w", hotkey: "h" })).slice(1)) {
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600, path);
    }
    assertEquals(
      (await loadHotkey({ root, name: "w", hotkey: "h" })).address,
      created.hotkey.address,
    );
    assertEquals((await loadColdkey({ root, name: "w" })).address, created.coldkey.address);
    assertEquals((await loadColdkeyPub({ root, name: "w" })).ss58Address, created.coldkey.address);
    const leftovers = [...Deno.readDirSync(`${root}/w`)].filter((e) => e.name.endsWith(".tmp"));
    assertEquals(leftovers, []);
  }));

Deno.test("createWallet() encrypts the coldkey so that only the password opens it", () =>
  withTempRoot(async (root) => {
    const created = await createWallet({ root, name: "w", coldkeyPassword: "s3cret-pw" });
    const bytes = await Deno.readFile(`${root}/w/coldkey`);
    assertEquals(keyfileEncryption(bytes), "nacl");
    assertEquals(
      (await loadColdkey({ root, name: "w" }, "s3cret-pw")).address,
      created.coldkey.address,
    );
  }));

Deno.test("createWallet() refuses to overwrite an existing wallet", () =>
  withTempRoot(async (root) => {
    await createWallet({ root, name: "w", coldkeyPassword: null });
    await assertRejectsWithCode(
      () => createWallet({ root, name: "w", coldkeyPassword: null }),
      WalletError,
      "exists",
    );
  }));

Deno.test("createHotkey() adds a second hotkey beside the first", () =>
  withTempRoot(async (root) => {
    await createWallet({ root, name: "w", hotkey: "a", coldkeyPassword: null });
    const b = await createHotkey({ root, name: "w", hotkey: "b" });
    assertEquals((await loadHotkey({ root, name: "w", hotkey: "b" })).address, b.address);
  }));

Deno.test("walletPaths() rejects a name that escapes the wallets folder", () => {
  let caught: unknown;
  try {
    walletPaths({ root: "/w", name: "..", hotkey: "h" });
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof RangeError);
});

Deno.test("defaultWalletRoot() and coldkeyPasswordVariable() follow bittensor's conventions", () => {
  assertEquals(defaultWalletRoot({ HOME: "/root/" }), "/root/.bittensor/wallets");
  assertEquals(coldkeyPasswordVariable("grail-miner"), "BT_COLD_PW_GRAIL_MINER");
});

Deno.test("loadHotkey() returns a pair whose inspection and JSON hold no secret", async () => {
  const pair = await loadHotkey({ ...GOLDEN, hotkey: "from_phrase" });
  const shown = Deno.inspect(pair, { depth: 10, showHidden: true }) + JSON.stringify(pair);
  for (const secret of ["leopard", PRIVATE_KEY.slice(2, 18), "da3cf5b1e914", "f8c8a8ec9d0f"]) {
    assert(!shown.includes(secret), `leaked ${secret}`);
  }
});
