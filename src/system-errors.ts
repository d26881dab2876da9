/**
 * What a failed file or network operation means, in words: the CLI prints
 * `cannot read spec.yaml: permission denied`, never an errno object or a stack trace.
 */

/** The usual system errors of reading, writing and connecting. */
const WORDS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  EEXIST: "already exists",
  ENOTEMPTY: "directory not empty",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large",
  ENAMETOOLONG: "file name too long",
  ELOOP: "too many levels of symbolic links",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  EIO: "input/output error",
  EBUSY: "resource busy",
  EXDEV: "on another file system",
  EINVAL: "invalid argument",
  ETXTBSY: "text file busy",
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by the other end",
  ECONNABORTED: "connection aborted",
  EHOSTUNREACH: "host unreachable",
  EHOSTDOWN: "host is down",
  ENETUNREACH: "network unreachable",
  ENETDOWN: "network is down",
  ETIMEDOUT: "connection timed out",
  EADDRNOTAVAIL: "address not available",
  EPIPE: "the other end closed the connection",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "host name lookup failed (temporary failure in name resolution)",
  EAI_FAIL: "host name lookup failed",
  ERR_FS_FILE_TOO_LARGE: "file too large",
  ERR_STRING_TOO_LONG: "file too large",
};

/**
 * The reason of a system error in words (`permission denied`), from its code, else from its
 * message without the code and the syscall (`EACCES: permission denied, open '/x'`).
 */
export function reasonOf(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof err?.code === "string" ? err.code : undefined;
  if (code !== undefined && WORDS[code] !== undefined) return WORDS[code];
  const message = typeof err?.message === "string" ? err.message : String(e);
  const first = message.split("\n")[0] ?? message;
  const m = /^[A-Z][A-Z0-9_]+: ([^,]+)(?:,|$)/.exec(first);
  if (m) return m[1]!;
  return first.replace(/^(?:getaddrinfo|connect|read|write|open|mkdir|rename) [A-Z][A-Z0-9_]+\b\s*/, "") || (code ?? "failed");
}

/** The message of anything thrown, on one line. */
export function messageOf(e: unknown): string {
  const message = e instanceof Error ? e.message : typeof e === "string" ? e : String(e);
  return (message.split("\n")[0] ?? "").trim() || (e instanceof Error ? e.name : "unknown error");
}
