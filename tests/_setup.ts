/**
 * Test set-up, run by `deno task test` before the suite: installs the outside tools that
 * tests compare against (a real SAT solver) or compile with (NVIDIA's runtime compiler, which
 * compiles our CUDA kernels to PTX without a GPU), when they are missing and the machine allows it.
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

// NVRTC lives in Debian's non-free component: enable it for this release only when the library is
// missing, so the CUDA kernel compile tests run on a GPU-less CI machine instead of being ignored.
async function hasNvrtc(): Promise<boolean> {
  const out = await new Deno.Command("sh", { args: ["-c", "ldconfig -p | grep -q libnvrtc"] })
    .output();
  return out.success;
}

async function debianCodename(): Promise<string | null> {
  try {
    const text = await Deno.readTextFile("/etc/os-release");
    const id = /^ID=(.*)$/m.exec(text)?.[1]?.replaceAll('"', "");
    const codename = /^VERSION_CODENAME=(.*)$/m.exec(text)?.[1]?.replaceAll('"', "");
    return id === "debian" && codename ? codename : null;
  } catch {
    return null;
  }
}

const codename = await debianCodename();
if (!(await hasNvrtc()) && codename && (await has("apt-get")) && Deno.uid?.() === 0) {
  const list = "/etc/apt/sources.list.d/grail-nvrtc.sources";
  await Deno.writeTextFile(
    list,
    `Types: deb\nURIs: http://deb.debian.org/debian\nSuites: ${codename}\n` +
      `Components: non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
  );
  const update = await new Deno.Command("apt-get", { args: ["update", "-qq"], stdout: "null" })
    .output();
  const search = await new Deno.Command("apt-cache", {
    args: ["search", "--names-only", "^libnvrtc[0-9.]+$"],
  }).output();
  const pkg = new TextDecoder().decode(search.stdout).split("\n").map((l) => l.split(" ")[0])
    .filter(Boolean).sort().pop();
  if (update.success && pkg) {
    console.error(`tests/_setup.ts: installing ${pkg} (NVRTC, for the CUDA kernel compile tests)`);
    const install = await new Deno.Command("apt-get", {
      args: ["install", "-y", "-qq", pkg],
      stdout: "null",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    if (!install.success) console.error(`tests/_setup.ts: could not install ${pkg}`);
  } else {
    console.error("tests/_setup.ts: no NVRTC package found; CUDA compile tests will be ignored");
  }
}
