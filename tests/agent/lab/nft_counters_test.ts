import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { counterGains } from "../../../agent/lab/nft_counters.ts";

Deno.test("counterGains() keeps what each host's counters gained, and new counters whole", () => {
  const before = { h1: { rule_default: 10, drop_not_owned: 4 }, h2: { rule_default: 7 } };
  const after = {
    h1: { rule_default: 110, drop_not_owned: 4 },
    h2: { rule_default: 7, drop_invalid: 1 },
    h3: { rule_default: 2 },
  };
  assertEquals(counterGains(before, after), {
    h1: { rule_default: 100 },
    h2: { drop_invalid: 1 },
    h3: { rule_default: 2 },
  });
});
