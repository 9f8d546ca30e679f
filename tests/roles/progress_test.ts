import { deepStrictEqual } from "node:assert/strict";
import { Progress } from "../../src/roles/progress.ts";

Deno.test("Progress.status() rewrites one line in place on a terminal", () => {
  let out = "";
  const p = new Progress({ tty: true, write: (t) => (out += t) });
  p.status("a");
  p.status("b");
  p.clear();
  deepStrictEqual(out, "\r\x1b[2Ka\r\x1b[2Kb\r\x1b[2K");
});

Deno.test("Progress.status() prints plain lines off a terminal, only when changed and not too often", () => {
  let out = "";
  let now = 0;
  const p = new Progress({
    tty: false,
    write: (t) => (out += t),
    nowMs: () => now,
    minIntervalMs: 1000,
  });
  p.status("mining");
  now = 500;
  p.status("uploading"); // too soon
  now = 2000;
  p.status("uploading");
  now = 4000;
  p.status("uploading"); // unchanged
  deepStrictEqual(out, "… mining\n… uploading\n");
});

Deno.test("Progress.print() clears the status before an ordinary line", () => {
  let out = "";
  const p = new Progress({ tty: true, write: (t) => (out += t) });
  p.status("x");
  p.print("window 30");
  p.print("next");
  deepStrictEqual(out, "\r\x1b[2Kx\r\x1b[2Kwindow 30\nnext\n");
});

Deno.test("Progress.printErr() sends the line to stderr after clearing the status", () => {
  let out = "";
  const errs: string[] = [];
  const p = new Progress({ tty: true, write: (t) => (out += t), writeErr: (l) => errs.push(l) });
  p.status("x");
  p.printErr("WARNING");
  deepStrictEqual([out, errs], ["\r\x1b[2Kx\r\x1b[2K", ["WARNING"]]);
});
