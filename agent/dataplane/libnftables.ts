/**
 * libnftables through Deno FFI: the only file of the agent that calls nftables' C library.
 *
 * One `nft_ctx` is kept open for the object's whole life. Its netlink socket owns the tables
 * created with `flags owner`, so the kernel removes them when the context is freed or the
 * process dies: rules never outlive the agent. Needs `--allow-ffi` and CAP_NET_ADMIN.
 *
 * Calls are synchronous (about 3 ms for a 1024-element set update); libnftables is not
 * thread-safe, so they stay on the one JS thread.
 */

/** The symbols used, each with its C prototype from <nftables/libnftables.h> (nftables 1.0.x). */
const SYMBOLS = {
  /** struct nft_ctx *nft_ctx_new(uint32_t flags); */
  nft_ctx_new: { parameters: ["u32"], result: "pointer" },
  /** void nft_ctx_free(struct nft_ctx *ctx); */
  nft_ctx_free: { parameters: ["pointer"], result: "void" },
  /** unsigned int nft_ctx_output_get_flags(struct nft_ctx *ctx); */
  nft_ctx_output_get_flags: { parameters: ["pointer"], result: "u32" },
  /** void nft_ctx_output_set_flags(struct nft_ctx *ctx, unsigned int flags); */
  nft_ctx_output_set_flags: { parameters: ["pointer", "u32"], result: "void" },
  /** int nft_ctx_buffer_output(struct nft_ctx *ctx); */
  nft_ctx_buffer_output: { parameters: ["pointer"], result: "i32" },
  /** int nft_ctx_buffer_error(struct nft_ctx *ctx); */
  nft_ctx_buffer_error: { parameters: ["pointer"], result: "i32" },
  /** const char *nft_ctx_get_output_buffer(struct nft_ctx *ctx); */
  nft_ctx_get_output_buffer: { parameters: ["pointer"], result: "pointer" },
  /** const char *nft_ctx_get_error_buffer(struct nft_ctx *ctx); */
  nft_ctx_get_error_buffer: { parameters: ["pointer"], result: "pointer" },
  /** int nft_run_cmd_from_buffer(struct nft_ctx *nft, const char *buf); */
  nft_run_cmd_from_buffer: { parameters: ["pointer", "buffer"], result: "i32" },
} as const;

/** #define NFT_CTX_DEFAULT 0 */
const NFT_CTX_DEFAULT = 0;
/** NFT_CTX_OUTPUT_JSON = (1 << 4) */
const NFT_CTX_OUTPUT_JSON = 1 << 4;

const LIBRARY = "libnftables.so.1";

export type NftResult = { ok: true; output: string } | { ok: false; error: string };

export class Libnftables {
  #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  #ctx: Deno.PointerValue;
  #encoder = new TextEncoder();

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>, ctx: Deno.PointerObject) {
    this.#lib = lib;
    this.#ctx = ctx;
  }

  /** Loads the library and opens one context with buffered output and errors. */
  static open(): Libnftables {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(LIBRARY, SYMBOLS);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        throw new Error(`cannot load ${LIBRARY}: ${why} (run the agent with --allow-ffi)`);
      }
      throw new Error(
        `cannot load ${LIBRARY}: ${why} (install the nftables library: ` +
          `"apt-get install -y libnftables1" or "apt-get install -y nftables" on Debian/Ubuntu, ` +
          `"dnf install nftables" on Fedora/RHEL)`,
      );
    }
    const ctx = lib.symbols.nft_ctx_new(NFT_CTX_DEFAULT);
    if (ctx === null) {
      lib.close();
      throw new Error(`nft_ctx_new() failed in ${LIBRARY} (out of memory or no netlink socket)`);
    }
    if (lib.symbols.nft_ctx_buffer_output(ctx) !== 0 || lib.symbols.nft_ctx_buffer_error(ctx)) {
      lib.symbols.nft_ctx_free(ctx);
      lib.close();
      throw new Error(`cannot buffer the output of ${LIBRARY} (nft_ctx_buffer_output failed)`);
    }
    return new Libnftables(lib, ctx);
  }

  /**
   * Runs an `nft -f` script as one batch (all or nothing). `json` lists in JSON (`nft -j`).
   * The error text is nft's own, with the offending line of the script.
   */
  run(script: string, options: { json?: boolean } = {}): NftResult {
    const ctx = this.#ctx;
    if (ctx === null) return { ok: false, error: "libnftables context is closed" };
    const s = this.#lib.symbols;
    const flags = s.nft_ctx_output_get_flags(ctx);
    const want = options.json ? flags | NFT_CTX_OUTPUT_JSON : flags & ~NFT_CTX_OUTPUT_JSON;
    if (want !== flags) s.nft_ctx_output_set_flags(ctx, want);
    const rc = s.nft_run_cmd_from_buffer(ctx, this.#encoder.encode(script + "\0"));
    // Reading a buffer also rewinds it, so both are read on every run.
    const output = cString(s.nft_ctx_get_output_buffer(ctx));
    const error = cString(s.nft_ctx_get_error_buffer(ctx));
    if (rc !== 0) return { ok: false, error: error.trim() || `nft failed (code ${rc})` };
    return { ok: true, output };
  }

  /** Frees the context (the kernel then drops the tables it owns) and unloads the library. */
  close(): void {
    if (this.#ctx === null) return;
    this.#lib.symbols.nft_ctx_free(this.#ctx);
    this.#ctx = null;
    this.#lib.close();
  }
}

function cString(p: Deno.PointerValue): string {
  return p === null ? "" : Deno.UnsafePointerView.getCString(p);
}
