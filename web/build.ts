/**
 * Builds dist/: first the admin panel's SPA (web/spa_build.ts writes web/_assets.gen.ts,
 * which the agent imports), then with `--bundle` one self-contained dist/appliance.js
 * (every npm package and the panel inlined, only node: built-ins and Deno APIs left) that
 * runs with `deno run` and no node_modules. Without flags it only prepares what
 * `deno compile` needs.
 */
import * as esbuild from "esbuild";
import { parseArgs } from "node:util";
import { describeAssets, writeAssetsModule } from "./spa_build.ts";

const { values } = parseArgs({ args: Deno.args, options: { bundle: { type: "boolean" } } });
const root = new URL("..", import.meta.url).pathname;

console.error(describeAssets(await writeAssetsModule()));

if (values.bundle) {
  const t0 = performance.now();
  const result = await esbuild.build({
    // Inlined modules share the bundle's import.meta, so `import.meta.main` would be true in
    // every one (the lab's traffic generator would take over the CLI): it is defined false,
    // and this entry calls main.ts's main() itself.
    stdin: {
      contents: `import { main } from "./${Deno.env.get("BUNDLE_ENTRY") ?? "main.ts"}";\n` +
        "Deno.exit(await main(Deno.args));\n",
      resolveDir: root,
      sourcefile: "bundle_entry.ts",
      loader: "ts",
    },
    define: { "import.meta.main": "false" },
    outfile: `${root}dist/appliance.js`,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["import", "module", "default"],
    external: ["node:*"],
    minifySyntax: true,
    legalComments: "none",
    banner: {
      js: "// appliance: bundled by `deno task bundle`; run with:\n" +
        "//   deno run -A --v8-flags=--max-semi-space-size=2 dist/appliance.js\n" +
        "// (the flag caps V8's young generation: the agent's RSS at 32 hosts drops from ~105 to ~85 MB)",
    },
    logLevel: "warning",
    metafile: true,
  });
  await esbuild.stop();
  const bytes = (await Deno.stat(`${root}dist/appliance.js`)).size;
  console.error(
    `dist/appliance.js: ${(bytes / 1024).toFixed(0)} KiB from ${
      Object.keys(result.metafile.inputs).length
    } files in ${Math.round(performance.now() - t0)} ms`,
  );
}
