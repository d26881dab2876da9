/**
 * keepalived checker blocks (HTTP_GET, SSL_GET, TCP_CHECK, SMTP_CHECK, DNS_CHECK, UDP_CHECK,
 * PING_CHECK, MISC_CHECK, FILE_CHECK) -> spec health checks. One block usually makes one
 * check; an SMTP_CHECK with `host { }` blocks makes one per host (keepalived checks each
 * host and no longer the real server's own address). Keys the spec does not model are
 * reported; a checker that cannot be carried over whole is dropped and reported.
 */
import { canonicalAddress } from "../model/addresses.js";
import { commandArgv, type HealthCheckInput, type HttpUrlInput, type ImportContext } from "./import-context.js";
import type { ConfNode } from "./parse-keepalived-conf.js";

/** A top-level `track_file NAME { file PATH; weight W [reverse] }` block. */
export interface TrackFile {
  node: ConfNode;
  path?: string;
  weight?: number;
  reverse?: boolean;
  used: boolean;
}

type Common = {
  connectIp?: string;
  connectPort?: number;
  bindTo?: string;
  connectTimeout?: number;
  retry?: number;
  delayBeforeRetry?: number;
  warmup?: number;
  delayLoop?: number;
};

/** Timer keys shared by checkers, real servers and virtual servers. */
export const TIMER_KEYS: Record<string, "connectTimeout" | "retry" | "delayBeforeRetry" | "warmup" | "delayLoop"> = {
  connect_timeout: "connectTimeout",
  retry: "retry",
  nb_get_retry: "retry",
  delay_before_retry: "delayBeforeRetry",
  warmup: "warmup",
  delay_loop: "delayLoop",
};

const CONNECT_KEYS = new Set(["connect_ip", "connect_port", "bindto", "connect_timeout"]);

/** Reads one common checker key into `target`; false when `node` is not a common key. */
function readCommon(ctx: ImportContext, node: ConfNode, target: Common, connects: boolean): boolean {
  const timer = TIMER_KEYS[node.keyword];
  if (!connects && CONNECT_KEYS.has(node.keyword)) {
    ctx.drop(node, `${node.keyword} is not a MISC_CHECK key (keepalived rejects it: "Unknown keyword"); not imported`);
    return true;
  }
  if (timer !== undefined) {
    const n = ctx.number(node, { integer: timer === "retry", min: 0 });
    if (n === undefined) return true;
    target[timer] = n;
    ctx.prov.field(target, timer, node);
    return true;
  }
  switch (node.keyword) {
    case "connect_ip":
    case "bindto": {
      const v = ctx.value(node, "an address");
      if (v === undefined) return true;
      const key = node.keyword === "connect_ip" ? "connectIp" : "bindTo";
      target[key] = v;
      ctx.prov.field(target, key, node);
      return true;
    }
    case "connect_port": {
      const n = ctx.number(node, { integer: true });
      if (n === undefined) return true;
      target.connectPort = n;
      ctx.prov.field(target, "connectPort", node);
      return true;
    }
    default:
      return false;
  }
}

function mapUrl(ctx: ImportContext, block: ConfNode): HttpUrlInput | undefined {
  if (!block.children) {
    ctx.drop(block, "url needs a '{ }' block; not imported");
    return undefined;
  }
  const url: HttpUrlInput = {};
  for (const node of block.children) {
    switch (node.keyword) {
      case "path": {
        const v = ctx.value(node, "a path");
        if (v !== undefined) url.path = v;
        break;
      }
      case "digest": {
        const v = ctx.value(node, "an MD5 digest");
        if (v !== undefined) url.digest = v.toLowerCase();
        break;
      }
      case "status_code": {
        if (ctx.rejectBlock(node)) break;
        const codes: Array<number | string> = [];
        for (const c of node.args) codes.push(/^\d+$/.test(c) ? Number(c) : c);
        if (codes.length === 0) {
          ctx.drop(node, "status_code needs at least one code; not imported");
          break;
        }
        url.statusCode = codes;
        break;
      }
      case "virtualhost": {
        const v = ctx.value(node, "a host name");
        if (v === undefined) break;
        url.virtualhost = v;
        ctx.prov.field(url, "virtualhost", node);
        break;
      }
      default:
        ctx.dropUnknown(node, "url");
    }
  }
  if (url.path === undefined) {
    ctx.drop(block, "url without a path: keepalived 2.2.7 crashes on it (keepalived -t exits 139); not imported");
    return undefined;
  }
  return ctx.prov.object(url, block);
}

function mapHttp(ctx: ImportContext, block: ConfNode, tls: boolean): HealthCheckInput[] {
  const check: Extract<HealthCheckInput, { type: "http" | "https" }> = tls ? { type: "https", urls: [] } : { type: "http", urls: [] };
  let virtualhost: string | undefined;
  for (const node of block.children ?? []) {
    if (readCommon(ctx, node, check, true)) continue;
    switch (node.keyword) {
      case "url": {
        const url = mapUrl(ctx, node);
        if (url) check.urls!.push(url);
        break;
      }
      case "http_protocol": {
        const v = ctx.value(node, "1.0, 1.0C or 1.1");
        if (v === "1.0" || v === "1.0C" || v === "1.1") {
          check.httpProtocol = v;
          ctx.prov.field(check, "httpProtocol", node);
        } else if (v !== undefined) {
          ctx.drop(node, `http_protocol ${v} is not 1.0, 1.0C or 1.1; not imported`);
        }
        break;
      }
      case "enable_sni": {
        if (check.type !== "https") {
          ctx.drop(node, "enable_sni applies to SSL_GET only; not imported");
          break;
        }
        const on = ctx.flag(node);
        if (on === undefined) break;
        check.enableSni = on;
        ctx.prov.field(check, "enableSni", node);
        break;
      }
      case "virtualhost":
        virtualhost = ctx.value(node, "a host name");
        break;
      default:
        ctx.dropUnknown(node, block.keyword);
    }
  }
  if (check.urls!.length === 0) {
    ctx.drop(block, `${block.keyword} without a url that has a path: keepalived 2.2.7 crashes on it; not imported`);
    return [];
  }
  // a checker-level virtualhost is the default of its urls: keep it where it applies
  if (virtualhost !== undefined) for (const u of check.urls!) u.virtualhost ??= virtualhost;
  return [check];
}

function mapSmtp(ctx: ImportContext, block: ConfNode): HealthCheckInput[] {
  const base: Extract<HealthCheckInput, { type: "smtp" }> = { type: "smtp" };
  const hosts: Array<{ host: Common; node: ConfNode }> = [];
  for (const node of block.children ?? []) {
    if (readCommon(ctx, node, base, true)) continue;
    switch (node.keyword) {
      case "helo_name": {
        const v = ctx.value(node, "a host name");
        if (v === undefined) break;
        base.heloName = v;
        ctx.prov.field(base, "heloName", node);
        break;
      }
      case "host": {
        if (!node.children) {
          ctx.drop(node, "host needs a '{ }' block; not imported");
          break;
        }
        const host: Common = {};
        for (const k of node.children) {
          if (CONNECT_KEYS.has(k.keyword) && readCommon(ctx, k, host, true)) continue;
          ctx.dropUnknown(k, "SMTP_CHECK host");
        }
        hosts.push({ host, node });
        break;
      }
      default:
        ctx.dropUnknown(node, block.keyword);
    }
  }
  if (hosts.length === 0) return [base];
  // each host is a check of its own; the checker's own settings are their defaults
  return hosts.map(({ host, node }) => {
    const check = ctx.prov.clone(base);
    ctx.prov.assign(check, host);
    return ctx.prov.object(check, node);
  });
}

function mapDns(ctx: ImportContext, block: ConfNode): HealthCheckInput[] {
  const check: Extract<HealthCheckInput, { type: "dns" }> = { type: "dns", name: "" };
  let named = false;
  for (const node of block.children ?? []) {
    if (readCommon(ctx, node, check, true)) continue;
    if (node.keyword === "type") {
      const v = ctx.value(node, "a record type");
      if (v !== undefined) check.queryType = v.toUpperCase() as typeof check.queryType;
    } else if (node.keyword === "name") {
      const v = ctx.value(node, "a name");
      if (v !== undefined) {
        check.name = v;
        named = true;
      }
    } else {
      ctx.dropUnknown(node, block.keyword);
    }
  }
  if (!named) {
    ctx.drop(block, "DNS_CHECK without a name queries the root ('.'), which the spec cannot express; not imported");
    return [];
  }
  return [check];
}

function mapUdp(ctx: ImportContext, block: ConfNode): HealthCheckInput[] {
  const check: Extract<HealthCheckInput, { type: "udp" }> = { type: "udp" };
  for (const node of block.children ?? []) {
    if (readCommon(ctx, node, check, true)) continue;
    switch (node.keyword) {
      case "payload": {
        const v = ctx.value(node, "hex bytes");
        if (v === undefined) break;
        check.payload = v;
        ctx.prov.field(check, "payload", node);
        break;
      }
      case "require_reply":
        if (ctx.rejectBlock(node)) break;
        check.requireReply = node.args[0] ?? true;
        ctx.prov.field(check, "requireReply", node);
        break;
      case "min_reply_length":
      case "max_reply_length": {
        const n = ctx.number(node, { integer: true });
        if (n === undefined) break;
        const key = node.keyword === "min_reply_length" ? "minReplyLength" : "maxReplyLength";
        check[key] = n;
        ctx.prov.field(check, key, node);
        break;
      }
      default:
        ctx.dropUnknown(node, block.keyword);
    }
  }
  return [check];
}

function mapMisc(ctx: ImportContext, block: ConfNode): HealthCheckInput[] {
  const check: Extract<HealthCheckInput, { type: "command" }> = { type: "command", command: [] };
  for (const node of block.children ?? []) {
    if (readCommon(ctx, node, check, false)) continue;
    switch (node.keyword) {
      case "misc_path":
        if (ctx.rejectBlock(node)) break;
        check.command = commandArgv(node);
        break;
      case "misc_timeout": {
        const n = ctx.number(node, { min: 0 });
        if (n === undefined) break;
        check.timeout = n;
        ctx.prov.field(check, "timeout", node);
        break;
      }
      case "misc_dynamic": {
        const on = ctx.flag(node);
        if (on === undefined) break;
        check.dynamic = on;
        ctx.prov.field(check, "dynamic", node);
        break;
      }
      default:
        ctx.dropUnknown(node, block.keyword);
    }
  }
  if (check.command.length === 0) {
    ctx.drop(block, "MISC_CHECK without misc_path; not imported");
    return [];
  }
  return [check];
}

function mapFile(ctx: ImportContext, block: ConfNode, trackFiles: ReadonlyMap<string, TrackFile>): HealthCheckInput[] {
  let name: string | undefined;
  let weight: number | undefined;
  let reverse: boolean | undefined;
  for (const node of block.children ?? []) {
    if (node.keyword === "track_file") {
      name = ctx.value(node, "a track_file name");
    } else if (node.keyword === "weight") {
      if (ctx.rejectBlock(node)) continue;
      weight = ctx.parseNumber(node, node.args[0] ?? "", { integer: true });
      if (node.args[1] === "reverse") reverse = true;
      else if (node.args[1] !== undefined) ctx.note(node, `weight: '${node.args.slice(1).join(" ")}' ignored`);
    } else {
      ctx.dropUnknown(node, block.keyword);
    }
  }
  const tf = name === undefined ? undefined : trackFiles.get(name);
  if (name === undefined || !tf || tf.path === undefined) {
    ctx.drop(block, `FILE_CHECK ${name === undefined ? "without track_file" : `names track_file ${name}, which is not defined with a file`}; not imported`);
    return [];
  }
  tf.used = true;
  const check: Extract<HealthCheckInput, { type: "file" }> = { type: "file", name, path: tf.path };
  const w = weight ?? tf.weight;
  if (w !== undefined) check.weight = w;
  if (reverse ?? tf.reverse) check.reverse = true;
  return [check];
}

/** Top-level `track_file NAME { file PATH; weight W [reverse] }`. */
export function readTrackFile(ctx: ImportContext, block: ConfNode): TrackFile | undefined {
  const tf: TrackFile = { node: block, used: false };
  if (block.args[0] === undefined || !block.children) {
    ctx.drop(block, "track_file needs a name and a '{ }' block; not imported");
    return undefined;
  }
  for (const node of block.children) {
    if (node.keyword === "file") {
      tf.path = ctx.value(node, "a path");
    } else if (node.keyword === "weight") {
      if (ctx.rejectBlock(node)) continue;
      tf.weight = ctx.parseNumber(node, node.args[0] ?? "", { integer: true });
      if (node.args[1] === "reverse") tf.reverse = true;
    } else {
      ctx.dropUnknown(node, `track_file ${block.args[0]}`);
    }
  }
  return tf;
}

/** Checker keywords the importer maps. */
export const CHECKER_KEYWORDS = new Set([
  "HTTP_GET", "SSL_GET", "TCP_CHECK", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "MISC_CHECK", "FILE_CHECK",
]);

/**
 * The checks one checker block makes, connect keys as written (see normalizeCheckTarget).
 * Each returned check is registered with `block` as its origin by the caller.
 */
export function mapChecker(ctx: ImportContext, block: ConfNode, trackFiles: ReadonlyMap<string, TrackFile>): HealthCheckInput[] {
  if (!block.children) {
    ctx.drop(block, `${block.keyword} needs a '{ }' block; not imported`);
    return [];
  }
  switch (block.keyword) {
    case "HTTP_GET": return mapHttp(ctx, block, false);
    case "SSL_GET": return mapHttp(ctx, block, true);
    case "SMTP_CHECK": return mapSmtp(ctx, block);
    case "DNS_CHECK": return mapDns(ctx, block);
    case "UDP_CHECK": return mapUdp(ctx, block);
    case "MISC_CHECK": return mapMisc(ctx, block);
    case "FILE_CHECK": return mapFile(ctx, block, trackFiles);
    case "TCP_CHECK":
    case "PING_CHECK": {
      const check: HealthCheckInput = block.keyword === "TCP_CHECK" ? { type: "tcp" } : { type: "ping" };
      for (const node of block.children) if (!readCommon(ctx, node, check, true)) ctx.dropUnknown(node, block.keyword);
      return [check];
    }
    default:
      return [];
  }
}

function sameAddress(a: string, b: string): boolean {
  try {
    return canonicalAddress(a) === canonicalAddress(b);
  } catch {
    return a === b;
  }
}

/**
 * Drops connect_ip / connect_port when they name the real server's own address / port:
 * those are the defaults, and the spec's checks are shared by every server of a pool.
 */
export function normalizeCheckTarget(check: HealthCheckInput, address: string, port: number | undefined): void {
  if (check.type === "file" || check.type === "command") return;
  if (check.connectIp !== undefined && sameAddress(check.connectIp, address)) delete check.connectIp;
  if (check.connectPort !== undefined && port !== undefined && check.connectPort === port) delete check.connectPort;
}
