/**
 * `deno task ok` runs this: the cluster core (agent/cluster/) must stay pure — no clock,
 * timer, randomness or I/O inside, and no imports but its own files and node:crypto
 * (deterministic hashing). Prints each offence as file:line and exits 1 if any.
 */
const DIR = new URL("../agent/cluster/", import.meta.url);
const FORBIDDEN: [RegExp, string][] = [
  [/\bDeno\./, "Deno API (I/O belongs to the driver)"],
  [/\bDate\.now\b|\bnew Date\(/, "wall clock (time comes in as `now`)"],
  [/\bperformance\.now\b/, "clock (time comes in as `now`)"],
  [/\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, "timer (emit an armTimer effect)"],
  [/\bMath\.random\b|\bgetRandomValues\b|\brandomBytes\b|\brandomUUID\b/, "randomness"],
  [/\bfetch\(|\bconsole\./, "I/O (emit an effect)"],
  [/\bawait\b|\basync\b/, "asynchrony (the core is synchronous)"],
];
const IMPORT = /\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/;

let offences = 0;
for (const entry of [...Deno.readDirSync(DIR)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
  const lines = Deno.readTextFileSync(new URL(entry.name, DIR)).split("\n");
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
    for (const [re, why] of FORBIDDEN) {
      if (re.test(code)) {
        console.error(`agent/cluster/${entry.name}:${i + 1}: ${why}: ${line.trim()}`);
        offences++;
      }
    }
    const m = IMPORT.exec(code);
    const spec = m?.[1] ?? m?.[2];
    if (spec && !spec.startsWith("./") && spec !== "node:crypto") {
      console.error(
        `agent/cluster/${entry.name}:${i + 1}: import of "${spec}" (only ./ and node:crypto)`,
      );
      offences++;
    }
  });
}
if (offences > 0) {
  console.error(`check_pure: ${offences} offence(s) in agent/cluster/`);
  Deno.exit(1);
}
console.log("check_pure: agent/cluster/ is pure");
