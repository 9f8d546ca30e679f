/**
 * Test set-up, run by `deno task test` before the suite: installs the outside tools that
 * tests compare against (a real SAT solver), when they are missing and the machine allows it.
 * Tests that need a tool still check for it themselves and say why they are ignored.
 */

const DEBIAN_PACKAGES: Record<string, string> = { minisat: "minisat" };

async function has(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`] }).output();
    return out.success;
  } catch {
    return false;
  }
}

const missing: string[] = [];
for (const [cmd, pkg] of Object.entries(DEBIAN_PACKAGES)) {
  if (!(await has(cmd))) missing.push(pkg);
}
if (missing.length > 0 && (await has("apt-get")) && Deno.uid?.() === 0) {
  console.error(`tests/_setup.ts: installing ${missing.join(", ")} with apt-get`);
  const update = await new Deno.Command("apt-get", { args: ["update", "-qq"], stdout: "null" })
    .output();
  if (!update.success) console.error("tests/_setup.ts: apt-get update failed");
  const install = await new Deno.Command("apt-get", {
    args: ["install", "-y", "-qq", ...missing],
    stdout: "null",
    env: { DEBIAN_FRONTEND: "noninteractive" },
  }).output();
  if (!install.success) console.error(`tests/_setup.ts: could not install ${missing.join(", ")}`);
}
