/**
 * Typed forwarding methods. Tunnel options are a union per encapsulation, so a gue tunnel
 * without a port, a gre tunnel with one, or remcsum on gre does not compile.
 */
import type { ForwardingSpec } from "../src/index.js";

/** How the director forwards to a real server. Build one with {@link forwarding}. */
export type Forwarding = Readonly<ForwardingSpec>;

/** IP-in-IP (the default tunnel). */
export interface IpipTunnel {
  type?: "ipip";
  port?: never;
  checksum?: never;
}

/** Generic UDP encapsulation: needs the destination port. */
export interface GueTunnel {
  type: "gue";
  /** destination UDP port on the real server */
  port: number;
  /** @default "nocsum" */
  checksum?: "nocsum" | "csum" | "remcsum";
}

/** GRE: no port, no remote checksum offload. */
export interface GreTunnel {
  type: "gre";
  port?: never;
  /** @default "nocsum" */
  checksum?: "nocsum" | "csum";
}

export type TunnelOptions = IpipTunnel | GueTunnel | GreTunnel;

/** Forwarding factories. */
export const forwarding = {
  /** masquerading (`-m`): the director rewrites addresses; real servers route replies through it */
  nat: (): Forwarding => ({ method: "nat" }),
  /** direct routing (`-g`): real servers carry the VIP and answer clients directly */
  dr: (): Forwarding => ({ method: "dr" }),
  /** tunnelling (`-i`): ipip by default, or gue/gre */
  tunnel: (opts: TunnelOptions = {}): Forwarding => {
    const out: ForwardingSpec = { method: "tunnel" };
    if (opts.type !== undefined) out.tunnelType = opts.type;
    if (opts.type === "gue") out.tunnelPort = opts.port;
    if (opts.checksum !== undefined) out.tunnelChecksum = opts.checksum;
    return out;
  },
} as const;
