import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { selectGroups } from "../../src/train/groups.ts";
import type { Rollout } from "../../src/protocol/rollout.ts";

function row(group: number | string, nonce: number, reward: number, extra: {
  logprobs?: number[];
  completionLength?: number;
} = {}): Rollout {
  const n = extra.completionLength ?? 2;
  return {
    rollout_group: group,
    nonce,
    commit: {
      tokens: [1, ...Array.from({ length: n }, (_, i) => 2 + i)],
      rollout: {
        total_reward: reward,
        advantage: 0,
        success: false,
        token_logprobs: extra.logprobs ?? [0, ...Array.from({ length: n }, () => -1)],
        prompt_length: 1,
        completion_length: n,
      },
    },
  } as unknown as Rollout;
}

Deno.test("selectGroups() recomputes advantages from rewards and orders rows by nonce", () => {
  const s = selectGroups([row(1, 5, 0), row(1, 2, 1)], { groupSize: 2 });
  deepStrictEqual(s.groups[0].rollouts.map((r) => [r.nonce, r.advantage]), [[2, 1], [5, -1]]);
});

Deno.test("selectGroups() merges rows of one rollout_group across miners (string key)", () => {
  const s = selectGroups([row(7, 0, 0), row("7", 1, 1)], { groupSize: 2 });
  strictEqual(s.groups.length, 1);
});

Deno.test("selectGroups() drops a group with a non-finite log-prob", () => {
  const s = selectGroups([row(1, 0, 0, { logprobs: [0, NaN, -1] }), row(1, 1, 1)], {
    groupSize: 2,
  });
  strictEqual(s.dropped.logprobs, 1);
  strictEqual(s.groups.length, 0);
});

Deno.test("selectGroups() drops groups of the wrong size and with zero variance", () => {
  const s = selectGroups([row(1, 0, 1), row(2, 0, 1), row(2, 1, 1)], { groupSize: 2 });
  strictEqual(s.dropped.size, 1);
  strictEqual(s.dropped.zero_variance, 1);
});

Deno.test("selectGroups() drops a group with a completion over the cap", () => {
  const s = selectGroups([row(1, 0, 0, { completionLength: 5 }), row(1, 1, 1)], {
    groupSize: 2,
    maxCompletionTokens: 4,
  });
  strictEqual(s.dropped.length, 1);
});

Deno.test("selectGroups() keeps the best maxGroups by 0.7·reward/token + 0.3·advantage variance", () => {
  // Same advantage variance (1); group 2 has more reward per token.
  const s = selectGroups([row(1, 0, 0), row(1, 1, 1), row(2, 0, 1), row(2, 1, 3)], {
    groupSize: 2,
    maxGroups: 1,
  });
  deepStrictEqual(s.groups.map((g) => g.groupId), ["2"]);
  strictEqual(s.dropped.rank, 1);
});

Deno.test("selectGroups() accepts completion-only (legacy) token_logprobs", () => {
  const s = selectGroups([row(1, 0, 0, { logprobs: [-1, -2] }), row(1, 1, 1)], { groupSize: 2 });
  deepStrictEqual(s.groups[0].rollouts[0].behaviourLogprobs, [-1, -2]);
});

Deno.test("selectGroups() returns nothing for no rollouts", () => {
  strictEqual(selectGroups([]).groups.length, 0);
});

Deno.test("selectGroups() drops a group with a rollout longer than maxTotalTokens", () => {
  const s = selectGroups([row(1, 0, 0, { completionLength: 3 }), row(1, 1, 1)], {
    groupSize: 2,
    maxTotalTokens: 3,
  });
  strictEqual(s.dropped.length, 1);
});

function minerRow(hotkey: string, nonce: number, reward: number): Rollout {
  return { ...row(0, nonce, reward), hotkey } as unknown as Rollout;
}

Deno.test("selectGroups() merges two miners' same rollout_group and drops it for its size by default", () => {
  const rows = [minerRow("a", 0, 0), minerRow("a", 1, 1), minerRow("b", 0, 0), minerRow("b", 1, 1)];
  const s = selectGroups(rows, { groupSize: 2 });
  deepStrictEqual([s.groups.length, s.dropped.size], [0, 1]);
});

Deno.test("selectGroups() with keyBy hotkey keeps each miner's rollout_group a group", () => {
  const rows = [minerRow("a", 0, 0), minerRow("a", 1, 1), minerRow("b", 0, 0), minerRow("b", 1, 1)];
  const s = selectGroups(rows, { groupSize: 2, keyBy: "hotkey" });
  deepStrictEqual(s.groups.map((g) => g.groupId).sort(), ["a:0", "b:0"]);
});
