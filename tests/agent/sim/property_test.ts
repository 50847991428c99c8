/**
 * Properties under random fault schedules (see _chaos.ts): 3..12 hosts, 1..3 windows of
 * 1..3 overlapping faults each (crash, restart, pause, loss burst, partition, join,
 * leave). After every window:
 *
 *   - all live hosts agree on one view digest within deadMisses * periodMs + 1 s of the
 *     last fault's end, and the view's members are exactly the running hosts;
 *   - every bucket of every `multiple` rule is in exactly one agreeing host's applied plan,
 *     that of its owner in the view, a live member;
 *   - unless a host joined or came back in the window, a bucket moved only if its owner
 *     left the view;
 * and throughout, no bucket (nor the default-host role) is in two hosts' applied plans at
 * one virtual instant, a split brain excepted (see agent/sim/ownership.ts).
 */
import assert from "node:assert/strict";
import { runChaos } from "./_chaos.ts";

const FIRST_SEED = 1000;
const SEEDS = 200;

Deno.test(`random fault schedules keep agreement, single owners and minimal moves (${SEEDS} seeds)`, () => {
  const failures: string[] = [];
  let windows = 0;
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    const r = runChaos(seed);
    windows += r.windows.length;
    if (r.failure) failures.push(r.failure);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${SEEDS} seeds broke a property`);
  assert.ok(windows >= SEEDS, `only ${windows} windows ran`);
});

Deno.test("random fault schedules with many windows on one cluster", () => {
  const failures: string[] = [];
  for (const seed of [1, 2, 3, 4, 5]) {
    const r = runChaos(seed, { windows: 8 });
    if (r.failure) failures.push(r.failure);
  }
  assert.deepEqual(failures, []);
});

Deno.test("departures alone (crash, leave, short pauses) move only the leavers' buckets", () => {
  const failures: string[] = [];
  let checked = 0;
  for (let seed = 5000; seed < 5040; seed++) {
    // Pauses below the tolerance evict nobody, so no window has a join to excuse a move.
    const r = runChaos(seed, { kinds: ["crash", "leave", "pause"], maxMs: 190 });
    if (r.failure) failures.push(r.failure);
    checked += r.windows.filter((w) => !w.joined && w.moved > 0).length;
  }
  assert.deepEqual(failures, []);
  assert.ok(checked >= 20, `only ${checked} windows checked moves`);
});
