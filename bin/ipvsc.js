#!/usr/bin/env node
// The `ipvsc` executable. Every failure ipvsc foresees is reported by the CLI itself: one
// line, exit 1 (bad input, failed operation) or 2 (usage). This is the last resort for
// anything else: one line `ipvsc: internal error: <message>`, exit 1, never a stack trace.

/** @param {unknown} e */
function lastResort(e) {
  let message;
  try {
    const code = /** @type {{ code?: unknown, url?: unknown }} */ (e)?.code;
    const url = /** @type {{ url?: unknown }} */ (e)?.url;
    if (code === "ERR_MODULE_NOT_FOUND" && typeof url === "string" && url === MAIN.href) {
      message = "ipvsc is not built: run `npm run build` in its directory";
    } else {
      message = `internal error: ${e instanceof Error ? e.message : String(e)}`;
    }
  } catch {
    message = "internal error";
  }
  // one line, and nothing a terminal would act on
  message = (message.split("\n")[0] || "internal error").replace(/[\u0000-\u001f\u007f-\u009f]/g, "?").slice(0, 500);
  try {
    process.stderr.write(`ipvsc: ${message}\n`);
  } catch {
    // stderr is gone: the exit code still tells
  }
  process.exit(1);
}

const MAIN = new URL("../dist/src/cli/main.js", import.meta.url);
process.on("uncaughtException", lastResort);
process.on("unhandledRejection", lastResort);
try {
  await import(MAIN.href);
} catch (e) {
  lastResort(e);
}
