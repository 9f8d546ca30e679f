// Expected values are the numbers stated in grail-infra-spec.md §1 (exact integer arithmetic
// unless a tolerance is given).
import { assertEquals } from "./_assert.ts";
import {
  blocksRemaining,
  deadlineBlock,
  deadlineFromBlockTimestamp,
  extrapolateBlockTimestamp,
  generationFinishedSafely,
  hasTimeForNextGeneration,
  initialMinerTimeBudget,
  isActiveWindowFile,
  isBeforeDeadline,
  neededBlocks,
  nextWindow,
  observeBlockTime,
  observeGeneration,
  observeUpload,
  validatorTargetWindow,
  WEIGHT_ROLLING_WINDOWS,
  weightInterval,
  windowStart,
} from "../../src/net/windows.ts";

Deno.test("windowStart() floors to a multiple of 30", () => {
  assertEquals([0, 29, 30, 59, 1000, 1019, 1020].map(windowStart), [0, 0, 30, 30, 990, 990, 1020]);
});

Deno.test("windowStart() rejects a negative block", () => {
  let caught: unknown;
  try {
    windowStart(-1);
  } catch (error) {
    caught = error;
  }
  assertEquals(caught instanceof RangeError, true);
});

Deno.test("nextWindow() starts at 0 and then steps by 30", () => {
  assertEquals(nextWindow(null), 0);
  assertEquals(nextWindow(0), 30);
  assertEquals(nextWindow(990), 1020);
});

Deno.test("nextWindow() rejects a value that is not a window start", () => {
  let caught: unknown;
  try {
    nextWindow(995);
  } catch (error) {
    caught = error;
  }
  assertEquals(caught instanceof RangeError, true);
});

Deno.test("validatorTargetWindow() is the last completed window", () => {
  assertEquals(validatorTargetWindow(1000), 960);
  assertEquals(validatorTargetWindow(1020), 990);
  assertEquals(validatorTargetWindow(30), 0);
  assertEquals(validatorTargetWindow(0), null);
});

Deno.test("deadlineBlock() is the first block of the next window", () => {
  assertEquals(deadlineBlock(960), 990);
});

Deno.test("deadlineFromBlockTimestamp() converts milliseconds and subtracts 4 s", () => {
  assertEquals(deadlineFromBlockTimestamp(1_712_000_000_000), 1_711_999_996);
  assertEquals(deadlineFromBlockTimestamp(1_712_000_000_500), 1_711_999_996.5);
});

Deno.test("deadlineFromBlockTimestamp() keeps second-valued timestamps as seconds", () => {
  assertEquals(deadlineFromBlockTimestamp(1_000_000_000_000), 999_999_999_996);
  assertEquals(deadlineFromBlockTimestamp(1_712_000_000), 1_711_999_996);
});

Deno.test("extrapolateBlockTimestamp() follows the observed block rate", () => {
  // 100 blocks in 1200 s → 12 s/block; 20 blocks past head → +240 s.
  assertEquals(
    extrapolateBlockTimestamp(
      { block: 880, seconds: 10_000 },
      { block: 980, seconds: 11_200 },
      1000,
    ),
    11_440,
  );
});

Deno.test("isBeforeDeadline() compares whole seconds inclusively", () => {
  const deadline = 1_711_999_996;
  assertEquals(isBeforeDeadline(new Date(1_711_999_996_999), deadline), true);
  assertEquals(isBeforeDeadline(new Date(1_711_999_997_000), deadline), false);
  assertEquals(isBeforeDeadline(new Date(1_711_999_996_999), deadline + 0.5), true);
});

Deno.test("isActiveWindowFile() requires 200 bytes and an on-time LastModified", () => {
  const onTime = new Date(1_000_000);
  assertEquals(isActiveWindowFile({ sizeBytes: 200, lastModified: onTime }, 1000), true);
  assertEquals(isActiveWindowFile({ sizeBytes: 199, lastModified: onTime }, 1000), false);
  assertEquals(
    isActiveWindowFile({ sizeBytes: 500, lastModified: new Date(1_001_000) }, 1000),
    false,
  );
  assertEquals(isActiveWindowFile({ sizeBytes: 500, lastModified: new Date(9e12) }, null), true);
  assertEquals(isActiveWindowFile(null, 1000), false);
});

Deno.test("blocksRemaining() counts down to the next window", () => {
  assertEquals(blocksRemaining(990, 990), 30);
  assertEquals(blocksRemaining(990, 1019), 1);
});

Deno.test("neededBlocks() is 10 with the default budget", () => {
  // Spec §1.3: ceil((72 + 12 + 36) / 12) = 10.
  assertEquals(neededBlocks(initialMinerTimeBudget()), 10);
});

Deno.test("neededBlocks() clamps to 1 and 29", () => {
  const slow = observeGeneration(initialMinerTimeBudget(), 360);
  assertEquals(neededBlocks(observeUpload(slow, 100)), 29);
  const fast = { blockTimeSeconds: 12, generationSeconds: 0, uploadSeconds: 0 };
  assertEquals(neededBlocks(fast, 0), 1);
});

Deno.test("observeGeneration() seeds with the first sample and then smooths with alpha 0.2", () => {
  const first = observeGeneration(initialMinerTimeBudget(), 60);
  assertEquals(first.generationSeconds, 60);
  const second = observeGeneration(first, 110);
  // 0.2·110 + 0.8·60 = 70, within 1e-9 for float rounding.
  assertEquals(Math.abs(second.generationSeconds! - 70) < 1e-9, true);
});

Deno.test("observeGeneration() caps a sample at 360 s", () => {
  assertEquals(observeGeneration(initialMinerTimeBudget(), 5000).generationSeconds, 360);
});

Deno.test("observeBlockTime() ignores reads without a new block", () => {
  const budget = initialMinerTimeBudget();
  assertEquals(observeBlockTime(budget, 5, 0), budget);
});

Deno.test("hasTimeForNextGeneration() needs more than neededBlocks remaining", () => {
  const budget = initialMinerTimeBudget();
  assertEquals(hasTimeForNextGeneration(budget, 990, 1009), true); // 11 left > 10
  assertEquals(hasTimeForNextGeneration(budget, 990, 1010), false); // 10 left
});

Deno.test("hasTimeForNextGeneration() is false once the head is in a later window", () => {
  assertEquals(hasTimeForNextGeneration(initialMinerTimeBudget(), 990, 1020), false);
});

Deno.test("generationFinishedSafely() compares with the upload time in blocks", () => {
  const budget = observeUpload(initialMinerTimeBudget(), 30); // ceil(30/12) = 3 blocks
  assertEquals(generationFinishedSafely(budget, 4), true);
  assertEquals(generationFinishedSafely(budget, 3), false);
});

Deno.test("weightInterval() steps every 360 blocks and the rolling history is 12 windows", () => {
  assertEquals([0, 359, 360, 1000].map(weightInterval), [0, 0, 1, 2]);
  assertEquals(WEIGHT_ROLLING_WINDOWS, 12);
});
