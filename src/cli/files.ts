/**
 * The CLI's file reading and writing, with failures as one sentence each (never an errno
 * object or a stack trace): a bounded read of an input file, and the build output written so
 * that a failure leaves nothing half-written and nothing that is not ipvsc's is replaced.
 */
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { lstat, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { BuildFile } from "../compile.js";
import { reasonOf } from "../system-errors.js";

/** A file operation that failed; the message is the whole sentence to print. */
export class FileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FileError";
  }
}

/** Largest input file read (the 50k-service benchmark spec is 91 MB). */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/**
 * Reads a text file (UTF-8) of at most `maxBytes`; pipes and devices too (`<(cmd)`), read in
 * chunks so that an endless one (`/dev/zero`) stops at the bound. `shown` names the file in
 * the error: `cannot read <shown>: <reason>`.
 */
export async function readTextFile(path: string, shown: string, maxBytes = MAX_INPUT_BYTES): Promise<string> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (e) {
    throw new FileError(`cannot read ${shown}: ${reasonOf(e)}`);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw new FileError(`cannot read ${shown}: larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`);
    }
    return Buffer.concat(chunks, total).toString("utf8");
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(`cannot read ${shown}: ${reasonOf(e)}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** What `build --out` writes at the top of its directory: an existing directory holding anything else is not ours. */
const BUILD_ENTRIES = new Set(["ipvsadm.rules", "sysctl.conf", "keepalived", "ipvsadm", "secrets"]);

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.ipvsc-${randomBytes(6).toString("hex")}`);
}

function names(list: readonly string[]): string {
  const shown = list.slice(0, 3).map((n) => JSON.stringify(n)).join(", ");
  return list.length > 3 ? `${shown} and ${list.length - 3} more` : shown;
}

/**
 * Writes the build files under `outDir` (`shown` is how the operator wrote it). A new
 * directory is written whole beside its place and renamed into it. Into an existing
 * directory (one an earlier build wrote, or an empty one) every file is written to a
 * temporary name first and renamed over its old version only when all are written: a
 * failure leaves the old output as it was, and no existing file is written through (a
 * symbolic link in its place is refused, not followed). Throws a FileError.
 */
export async function writeBuildOutput(outDir: string, shown: string, files: readonly BuildFile[]): Promise<void> {
  let st: Stats | undefined;
  try {
    st = await stat(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new FileError(`cannot write to ${shown}: ${reasonOf(e)}; nothing written`);
    // nothing there, or a symbolic link to nothing (not followed)
    if (await lstatOrUndefined(outDir).catch(() => undefined)) {
      throw new FileError(`${shown} exists and is not a directory (a dangling symbolic link); nothing written`);
    }
  }
  if (st === undefined) return writeNewDirectory(outDir, shown, files);
  if (!st.isDirectory()) throw new FileError(`${shown} exists and is not a directory; nothing written`);
  return writeIntoDirectory(outDir, shown, files);
}

/** Writes `files` into `dir` (which exists), creating subdirectories as needed; returns what it created. */
async function writeFiles(dir: string, files: readonly BuildFile[], created: string[], temps?: Map<string, string>): Promise<void> {
  for (const f of files) {
    const target = join(dir, f.path);
    const parts = f.path.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const sub = join(dir, ...parts.slice(0, i));
      if (created.includes(sub)) continue;
      try {
        await mkdir(sub, { mode: f.secret ? 0o700 : 0o755 });
        created.push(sub);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw Object.assign(e as object, { failedPath: f.path.split("/").slice(0, i).join("/") });
      }
    }
    const path = temps ? tempName(target) : target;
    temps?.set(f.path, path);
    try {
      // a new file (`wx`): its mode is exactly this (less the umask), whatever was there before
      await writeFile(path, f.content, { mode: f.secret ? 0o600 : 0o644, flag: "wx" });
    } catch (e) {
      throw Object.assign(e as object, { failedPath: f.path });
    }
  }
}

function failedPath(e: unknown): string | undefined {
  const p = (e as { failedPath?: unknown }).failedPath;
  return typeof p === "string" ? p : undefined;
}

async function writeNewDirectory(outDir: string, shown: string, files: readonly BuildFile[]): Promise<void> {
  const parent = dirname(outDir);
  let madeParent: string | undefined;
  try {
    madeParent = await mkdir(parent, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new FileError(`cannot create ${dirname(shown)}: ${reasonOf(e)}; nothing written`);
  }
  const temp = tempName(outDir);
  try {
    try {
      await mkdir(temp, { mode: 0o755 });
    } catch (e) {
      throw new FileError(`cannot create ${shown}: ${reasonOf(e)}; nothing written`);
    }
    try {
      await writeFiles(temp, files, []);
    } catch (e) {
      const which = failedPath(e);
      throw new FileError(`cannot write ${which === undefined ? shown : join(shown, which)}: ${reasonOf(e)}; nothing written`);
    }
    try {
      await rename(temp, outDir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new FileError(code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR" || code === "EISDIR"
        ? `${shown} appeared while the build was written; nothing written`
        : `cannot create ${shown}: ${reasonOf(e)}; nothing written`);
    }
  } catch (e) {
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    if (madeParent !== undefined) await rm(madeParent, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

async function writeIntoDirectory(outDir: string, shown: string, files: readonly BuildFile[]): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(outDir);
  } catch (e) {
    throw new FileError(`cannot write to ${shown}: ${reasonOf(e)}; nothing written`);
  }
  const foreign = entries.filter((n) => !BUILD_ENTRIES.has(n) && !n.startsWith(".")).sort();
  if (foreign.length > 0) {
    throw new FileError(`${shown} holds files a build did not write (${names(foreign)}); give a new or empty directory, ` +
      "or one an earlier build wrote; nothing written");
  }
  // everything in the way is checked before anything is written
  const checked = new Set<string>();
  for (const f of files) {
    const parts = f.path.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join("/");
      if (checked.has(rel)) continue;
      checked.add(rel);
      let st: Stats | undefined;
      try {
        st = await lstatOrUndefined(join(outDir, rel));
      } catch (e) {
        throw new FileError(`cannot write ${join(shown, rel)}: ${reasonOf(e)}; nothing written`);
      }
      if (st === undefined) break;
      const isLast = i === parts.length;
      if (st.isSymbolicLink()) throw new FileError(`${join(shown, rel)} is a symbolic link; ipvsc does not write through links; nothing written`);
      if (!isLast && !st.isDirectory()) throw new FileError(`${join(shown, rel)} exists and is not a directory; nothing written`);
      if (isLast && !st.isFile()) throw new FileError(`${join(shown, rel)} exists and is not a regular file; nothing written`);
    }
  }
  const created: string[] = [];
  const temps = new Map<string, string>();
  try {
    await writeFiles(outDir, files, created, temps);
  } catch (e) {
    await removeAll(temps, created);
    const which = failedPath(e);
    throw new FileError(`cannot write ${which === undefined ? shown : join(shown, which)}: ${reasonOf(e)}; nothing written`);
  }
  // all written: each replaces its old version at once
  for (const f of files) {
    try {
      await rename(temps.get(f.path)!, join(outDir, f.path));
      temps.delete(f.path);
    } catch (e) {
      await removeAll(temps, []);
      throw new FileError(`cannot write ${join(shown, f.path)}: ${reasonOf(e)}; the files before it in the build were replaced, the others left as they were`);
    }
  }
}

async function removeAll(temps: Map<string, string>, created: readonly string[]): Promise<void> {
  for (const t of temps.values()) await unlink(t).catch(() => undefined);
  for (const d of [...created].reverse()) await rmdir(d).catch(() => undefined);
}

/** True when `text` is a plan `plan --out` wrote (what `loadPlan` accepts). */
function isPlanText(text: string): boolean {
  try {
    const v = JSON.parse(text) as { version?: unknown; directors?: unknown } | null;
    return typeof v === "object" && v !== null && v.version === 1 && Array.isArray(v.directors);
  } catch {
    return false;
  }
}

/**
 * Writes a plan file: to a temporary name beside it, then renamed into place. An existing
 * file there must be a plan (an earlier `plan --out`): anything else is refused, not
 * overwritten. Throws a FileError.
 */
export async function writePlanFile(path: string, shown: string, text: string): Promise<void> {
  let st: Stats | undefined;
  try {
    st = await lstatOrUndefined(path);
  } catch (e) {
    throw new FileError(`cannot write ${shown}: ${reasonOf(e)}`);
  }
  if (st !== undefined) {
    if (!st.isFile()) throw new FileError(`${shown} exists and is not a regular file; the plan was not saved`);
    let old: string;
    try {
      old = await readTextFile(path, shown);
    } catch (e) {
      throw new FileError(`${e instanceof FileError ? e.message : `cannot read ${shown}: ${reasonOf(e)}`}; the plan was not saved`);
    }
    if (!isPlanText(old)) throw new FileError(`${shown} exists and is not an ipvsc plan; the plan was not saved (remove it or choose another name)`);
  }
  const temp = tempName(path);
  try {
    await writeFile(temp, text, { mode: 0o644, flag: "wx" });
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw new FileError(`cannot write ${shown}: ${reasonOf(e)}; the plan was not saved`);
  }
}
