/**
 * The SPA's assets for createApp: from web/_assets.gen.ts when it exists (always in
 * dist/appliance.js and in `deno compile` builds, where it is inlined), otherwise built
 * now with esbuild (running from source on a clean clone). `rebuild` forces a fresh build,
 * for working on web/ui/ without re-running `deno task bundle`.
 *
 * The builder is imported through a computed specifier so that neither esbuild nor
 * `deno compile` pulls esbuild itself into the agent.
 */
import type { Assets } from "./deps.ts";

export async function loadAssets(opts: { rebuild?: boolean } = {}): Promise<Assets> {
  if (!opts.rebuild) {
    try {
      return (await import("./_assets.gen.ts")).ASSETS as Assets;
    } catch (e) {
      if ((e as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw e;
    }
  }
  const builder = new URL("./spa_build.ts", import.meta.url).href;
  const { buildSpa } = await import(builder) as typeof import("./spa_build.ts");
  return await buildSpa();
}
