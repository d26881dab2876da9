/**
 * Typed health checks. A pool with health checks is owned by keepalived (DESIGN.md,
 * "Ownership"); each factory takes exactly the options of its keepalived checker.
 */
import type { SpecInput } from "../src/index.js";

type HealthCheckInput = NonNullable<SpecInput["services"][number]["pool"]["healthChecks"]>[number];
type CheckOptions<T extends HealthCheckInput["type"]> = Omit<Extract<HealthCheckInput, { type: T }>, "type">;
type HttpUrl = NonNullable<CheckOptions<"http">["urls"]>[number];

/** A health check as a pool takes it. Build one with {@link healthCheck}. */
export type HealthCheck = Readonly<HealthCheckInput>;

/** One URL to check, the common case: `{ path: "/healthz", statusCode: [200] }`. */
export type HttpPathOptions = HttpUrl & { path: string; urls?: never };
/** Several URLs. */
export interface HttpUrlsOptions {
  urls: HttpUrl[];
  path?: never;
}

export type HttpCheckOptions = Omit<CheckOptions<"http">, "urls"> & (HttpPathOptions | HttpUrlsOptions);
export type HttpsCheckOptions = Omit<CheckOptions<"https">, "urls"> & (HttpPathOptions | HttpUrlsOptions);

function withUrls<T extends "http" | "https">(type: T, opts: HttpCheckOptions | HttpsCheckOptions): HealthCheck {
  const { path, statusCode, digest, virtualhost, urls, ...rest } = opts as HttpsCheckOptions & Partial<HttpUrl> & { urls?: HttpUrl[] };
  const url: HttpUrl = {};
  if (path !== undefined) url.path = path;
  if (statusCode !== undefined) url.statusCode = statusCode;
  if (digest !== undefined) url.digest = digest;
  if (virtualhost !== undefined) url.virtualhost = virtualhost;
  return { type, ...rest, urls: urls ?? [url] } as HealthCheck;
}

/** Health-check factories, one per keepalived checker. */
export const healthCheck = {
  /** TCP_CHECK: a connect succeeds */
  tcp: (opts: CheckOptions<"tcp"> = {}): HealthCheck => ({ type: "tcp", ...opts }),
  /** HTTP_GET: `{ path: "/healthz" }` or `{ urls: [...] }` */
  http: (opts: HttpCheckOptions): HealthCheck => withUrls("http", opts),
  /** SSL_GET */
  https: (opts: HttpsCheckOptions): HealthCheck => withUrls("https", opts),
  /** SMTP_CHECK */
  smtp: (opts: CheckOptions<"smtp"> = {}): HealthCheck => ({ type: "smtp", ...opts }),
  /** DNS_CHECK: `{ name: "example.org", queryType: "A" }` */
  dns: (opts: CheckOptions<"dns">): HealthCheck => ({ type: "dns", ...opts }),
  /** UDP_CHECK */
  udp: (opts: CheckOptions<"udp"> = {}): HealthCheck => ({ type: "udp", ...opts }),
  /** PING_CHECK */
  ping: (opts: CheckOptions<"ping"> = {}): HealthCheck => ({ type: "ping", ...opts }),
  /** MISC_CHECK: argv, program first, run without a shell */
  command: (opts: CheckOptions<"command">): HealthCheck => ({ type: "command", ...opts }),
  /** track_file: the weight comes from a file */
  file: (opts: CheckOptions<"file">): HealthCheck => ({ type: "file", ...opts }),
} as const;
