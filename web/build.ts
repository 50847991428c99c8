/**
 * Builds dist/: first the admin panel's SPA (web/spa_build.ts writes web/_assets.gen.ts,
 * which the agent imports), then either
 *  - with `--bundle`, one self-contained dist/appliance.js (every npm package and the panel
 *    inlined, only node: built-ins and Deno APIs left) that runs with `deno run` and no
 *    node_modules; or
 *  - with `--compile`, the `deno compile` binary dist/appliance.
 * Either way web/_assets.gen.ts is removed again afterwards: left behind, it would keep
 * serving a stale panel to `deno run main.ts` after web/ui/ changes.
 */
import * as esbuild from "esbuild";
import { parseArgs } from "node:util";
import { ASSETS_MODULE, describeAssets, writeAssetsModule } from "./spa_build.ts";

/** V8 flags the agent ships with (baked into the binary, asked for by the bundle). */
const SHIPPED_V8_FLAGS = "--max-semi-space-size=2";

const { values } = parseArgs({
  args: Deno.args,
  options: { bundle: { type: "boolean" }, compile: { type: "boolean" } },
});
const root = new URL("..", import.meta.url).pathname;

console.error(describeAssets(await writeAssetsModule()));
try {
  if (values.bundle) await bundle();
  if (values.compile) await compile();
} catch (e) {
  console.error(`build failed: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await Deno.remove(ASSETS_MODULE).catch(() => {});
}

async function compile(): Promise<void> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "-A",
      `--v8-flags=${SHIPPED_V8_FLAGS}`,
      "--output",
      `${root}dist/appliance`,
      `${root}main.ts`,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    throw new Error(
      `deno compile failed (exit ${code}); it downloads denort, so it needs the internet`,
    );
  }
}

async function bundle(): Promise<void> {
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
        `//   deno run -A --v8-flags=${SHIPPED_V8_FLAGS} dist/appliance.js\n` +
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
