import { deepStrictEqual, match, ok } from "node:assert/strict";
import { formatLogTime, Logger } from "../../src/roles/logger.ts";

function capture(level?: "debug" | "info" | "warning" | "error" | "silent") {
  const lines: string[] = [];
  const log = new Logger({
    name: "grail.test",
    level,
    write: (l) => lines.push(l),
    nowMs: () => 0,
  });
  return { lines, log };
}

Deno.test("formatLogTime() writes the reference's %Y-%m-%d %H:%M:%S in UTC", () => {
  deepStrictEqual(formatLogTime(Date.UTC(2026, 10, 25, 9, 5, 7, 999)), "2026-11-25 09:05:07");
});

Deno.test("Logger.info() writes `time LEVEL [logger] message`", () => {
  const { lines, log } = capture();
  log.info("Successfully uploaded window 60");
  deepStrictEqual(lines, ["1970-01-01 00:00:00 INFO [grail.test] Successfully uploaded window 60"]);
});

Deno.test("Logger drops lines below its level and writes nothing when silent", () => {
  const a = capture("warning");
  a.log.info("no");
  a.log.warning("yes");
  deepStrictEqual(a.lines.length, 1);
  match(a.lines[0], / WARNING \[grail\.test\] yes$/);
  const b = capture("silent");
  b.log.error("no");
  deepStrictEqual(b.lines, []);
});

Deno.test("Logger.event() writes compact JSON with event first and non-finite numbers as null", () => {
  const { lines, log } = capture();
  log.child("grail.validator.verdict").event("verdict", {
    window: 30,
    uid: 2,
    success_rate: Infinity,
  });
  deepStrictEqual(
    lines[0],
    '1970-01-01 00:00:00 INFO [grail.validator.verdict] {"event":"verdict","window":30,"uid":2,"success_rate":null}',
  );
});

Deno.test("Logger.addSecret() masks the secret in every logger sharing the sink", () => {
  const { lines, log } = capture();
  log.addSecret("R2-SECRET-abcdef");
  log.child("grail.miner").error("upload failed with key R2-SECRET-abcdef");
  ok(!lines[0].includes("R2-SECRET"));
  match(lines[0], /with key \*\*\*$/);
});

Deno.test("Logger.addSecret() ignores values too short to mask safely", () => {
  const { lines, log } = capture();
  log.addSecret("abc");
  log.info("abc def");
  match(lines[0], /abc def$/);
});
