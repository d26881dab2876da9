/**
 * Helpers for the HA lab test (ha-failover.test.ts): a "world" VM on the shared link that
 * holds the client and the real servers, the pair's spec, and probes of the pair's VRRP
 * and sync state.
 *
 * Topology (three VMs booted with bootDirectors(3, { sharedLink: true }), one L2 segment):
 *
 *   dir1 = director lb-a  eth1 192.0.2.11   preferred master (first in the spec)
 *   dir2 = director lb-b  eth1 192.0.2.12
 *   dir3 = the world      eth1 192.0.2.13, and macvlan (bridge mode) children of eth1 in
 *                         namespaces, each with its own MAC on the segment:
 *                           client  192.0.2.50/24
 *                           rs<i>   192.0.2.<20+i>/24, VIP on lo, arp_ignore=1, arp_announce=2
 *   VIP 192.0.2.100 (VRRP, on the master's eth1), services in DR mode:
 *     :80   busybox httpd in each rs<i>, body "rs<i>"
 *     :7000 a line echo server (ha-echo.pl) in each rs<i>, answers "rs<i> LINE"
 *
 * DR replies go from the real server straight to the client (same segment), so the
 * directors see only the client's side of each connection, as in production.
 */
import { shq, type LabDirector } from "../lab.js";
import type { SpecInput } from "../../../src/schema/spec-schema.js";

/** The VRRP VIP of the pair. */
export const HA_VIP = "192.0.2.100";
/** The client's address in the world VM. */
export const HA_CLIENT = "192.0.2.50";
/** Real server i (1..3) on the shared link. */
export function haRealServer(i: 1 | 2 | 3): string {
  return `192.0.2.${20 + i}`;
}
/** The echo service's port. */
export const ECHO_PORT = 7000;
/** Where the echo tool lives in the world VM. */
const ECHO_TOOL = "/run/ha/ha-echo.pl";

/**
 * The long-lived connection tool (perl-base only: Socket, no Time::HiRes):
 *   ha-echo.pl server PORT NAME           forks per connection; answers each line with "NAME LINE"
 *   ha-echo.pl client ADDR PORT MS STOP   one connection; sends "seq N" every MS ms, waits up to
 *                                         10 s for each answer; prints "connected T LOCALPORT", "ok N T ANSWER"
 *                                         per answer and "fail N T REASON" (then exits 1) or
 *                                         "done N" once the STOP file exists. T = /proc/uptime.
 */
export const ECHO_TOOL_SOURCE = String.raw`#!/usr/bin/perl
use strict;
use warnings;
use Socket qw(:addrinfo AF_INET SOCK_STREAM SOL_SOCKET SO_REUSEADDR unpack_sockaddr_in);

sub now { open(my $f, '<', '/proc/uptime') or return 0; my $l = <$f>; close $f; return (split / /, $l)[0]; }
sub resolve {
  my ($addr, $port) = @_;
  my ($err, @res) = getaddrinfo($addr, $port, { flags => AI_NUMERICHOST | AI_NUMERICSERV, socktype => SOCK_STREAM });
  die "bad address $addr: $err\n" if $err;
  return $res[0];
}
my $cmd = shift @ARGV // '';
$| = 1;
if ($cmd eq 'server') {
  my ($port, $name) = @ARGV;
  my $ai = resolve('0.0.0.0', $port);
  socket(my $l, $ai->{family}, SOCK_STREAM, 0) or die "socket: $!\n";
  setsockopt($l, SOL_SOCKET, SO_REUSEADDR, 1) or die "reuseaddr: $!\n";
  bind($l, $ai->{addr}) or die "bind: $!\n";
  listen($l, 64) or die "listen: $!\n";
  $SIG{CHLD} = 'IGNORE';
  while (1) {
    accept(my $c, $l) or next;
    my $pid = fork();
    if (!defined $pid) { close $c; next; }
    if ($pid == 0) {
      close $l;
      my $buf = '';
      while (1) {
        my $r = sysread($c, my $chunk, 4096);
        last unless $r;
        $buf .= $chunk;
        while ($buf =~ s/^([^\n]*)\n//) { syswrite($c, "$name $1\n") or exit 0; }
      }
      exit 0;
    }
    close $c;
  }
}
if ($cmd eq 'client') {
  my ($addr, $port, $ms, $stop) = @ARGV;
  die "usage: ha-echo.pl client ADDR PORT MS STOPFILE\n" unless defined $stop;
  my $ai = resolve($addr, $port);
  socket(my $s, $ai->{family}, SOCK_STREAM, 0) or die "socket: $!\n";
  my $ok = eval { local $SIG{ALRM} = sub { die "timeout\n" }; alarm(5); connect($s, $ai->{addr}) or die "$!\n"; alarm(0); 1 };
  alarm(0);
  if (!$ok) { my $e = $@; chomp $e; print "fail 0 ", now(), " connect: $e\n"; exit 1; }
  my ($lport) = unpack_sockaddr_in(getsockname($s));
  print "connected ", now(), " $lport\n";
  my ($seq, $buf) = (0, '');
  while (!-e $stop) {
    $seq++;
    if (!defined syswrite($s, "seq $seq\n")) { my $e = "$!"; print "fail $seq ", now(), " write: $e\n"; exit 1; }
    my $deadline = now() + 10;
    while ($buf !~ /\n/) {
      my $left = $deadline - now();
      if ($left <= 0) { print "fail $seq ", now(), " timeout\n"; exit 1; }
      my $rin = '';
      vec($rin, fileno($s), 1) = 1;
      next unless select(my $rout = $rin, undef, undef, $left) > 0;
      my $r = sysread($s, my $chunk, 4096);
      if (!defined $r) { my $e = "$!"; print "fail $seq ", now(), " read: $e\n"; exit 1; }
      if ($r == 0) { print "fail $seq ", now(), " closed by peer\n"; exit 1; }
      $buf .= $chunk;
    }
    $buf =~ s/^([^\n]*)\n//;
    print "ok $seq ", now(), " $1\n";
    select(undef, undef, undef, $ms / 1000);
  }
  print "done $seq\n";
  exit 0;
}
die "usage: ha-echo.pl server PORT NAME | client ADDR PORT MS STOPFILE\n";
`;

/**
 * Builds the world in `world` (a VM booted with sharedLink): client and rs1..rs3 namespaces
 * on macvlan children of eth1, the VIP on each real server's lo for DR, httpd on :80 and
 * the echo server on :7000 in each real server.
 */
export async function setupHaWorld(world: LabDirector): Promise<void> {
  await world.run(`mkdir -p /run/ha && cat > ${ECHO_TOOL} && chmod 755 ${ECHO_TOOL}`, { stdin: ECHO_TOOL_SOURCE });
  const nss = [
    { ns: "client", addr: `${HA_CLIENT}/24`, rs: false },
    ...([1, 2, 3] as const).map((i) => ({ ns: `rs${i}`, addr: `${haRealServer(i)}/24`, rs: true })),
  ];
  const script = [
    "set -e",
    "export PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    "[ -d /sys/module/macvlan ] || { echo 'no macvlan module in the lab image (run npm run lab:setup)' >&2; exit 1; }",
    // one ip process for the root side (every dynamically linked process costs ~80 ms under TCG)
    "{",
    ...nss.flatMap(({ ns }) => [
      `echo 'netns add ${ns}'`,
      // bridge mode: the client and the real servers talk through eth1 without a hairpin
      `echo 'link add mv-${ns} link eth1 type macvlan mode bridge'`,
      `echo 'link set mv-${ns} netns ${ns}'`,
    ]),
    "} | ip -batch -",
    ...nss.flatMap(({ ns, addr, rs }) => [
      `nsenter --net=/run/netns/${ns} sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0` +
        (rs ? " net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2" : ""),
      `printf '%s\\n' 'link set lo up' 'link set mv-${ns} name eth0' 'addr add ${addr} dev eth0' 'link set eth0 up'` +
        (rs ? ` 'addr add ${HA_VIP}/32 dev lo'` : "") +
        ` | ip -n ${ns} -batch -`,
    ]),
    ...([1, 2, 3] as const).flatMap((i) => [
      `mkdir -p /run/ha/rs${i} && echo rs${i} > /run/ha/rs${i}/index.html`,
      `nsenter --net=/run/netns/rs${i} httpd -p 80 -h /run/ha/rs${i}`,
      `nsenter --net=/run/netns/rs${i} setsid perl ${ECHO_TOOL} server ${ECHO_PORT} rs${i} < /dev/null > /run/ha/echo-rs${i}.log 2>&1 &`,
    ]),
    "echo ha-world ready",
  ].join("\n");
  await world.run("bash -s", { stdin: script, timeoutMs: 120_000 });
}

/** Director SSH details for a spec. */
function sshOf(d: LabDirector): NonNullable<SpecInput["directors"][number]["ssh"]> {
  return { host: "127.0.0.1", port: d.sshPort, user: "root", hostKey: d.hostKey, privateKeyPath: d.privateKeyPath };
}

/** Names of the pair's directors in the spec (dir1, dir2). */
export const PAIR = ["lb-a", "lb-b"] as const;

export interface HaSpecOptions {
  /** weights of rs1..rs3 in the web pool (absent = not a member) */
  web: Partial<Record<1 | 2 | 3, number>>;
  /** weights of rs1..rs3 in the echo pool */
  echo: Partial<Record<1 | 2 | 3, number>>;
}

function pool(weights: Partial<Record<1 | 2 | 3, number>>): { address: string; weight: number }[] {
  return ([1, 2, 3] as const).filter((i) => weights[i] !== undefined).map((i) => ({ address: haRealServer(i), weight: weights[i]! }));
}

/** The VRRP password of the lab pair (a secret: rendered only into the 0600 include). */
export const HA_PASSWORD = "labPw123";

/**
 * The pair's spec: unicast VRRP on eth1 (authenticated), the sync daemon on eth1 following
 * the instance, web (keepalived-owned: a TCP check) and echo (applier-owned) in DR mode.
 */
export function haSpec(a: LabDirector, b: LabDirector, o: HaSpecOptions): SpecInput {
  return {
    targetKernel: "6.1",
    directors: [
      { name: PAIR[0], address: a.linkV4!, interfaces: ["eth0", "eth1"], ssh: sshOf(a) },
      { name: PAIR[1], address: b.linkV4!, interfaces: ["eth0", "eth1"], ssh: sshOf(b) },
    ],
    vrrp: {
      instances: [{
        name: "VI_LAB",
        interface: "eth1",
        virtualRouterId: 51,
        advertInterval: 1,
        vips: [`${HA_VIP}/32`],
        authType: "PASS",
        authPassword: HA_PASSWORD,
        unicast: true,
      }],
    },
    syncDaemon: { interface: "eth1", instance: "VI_LAB", syncId: 51 },
    services: [
      {
        name: "web",
        protocol: "tcp",
        address: HA_VIP,
        port: 80,
        scheduler: "wrr",
        pool: {
          forwarding: { method: "dr" },
          servers: pool(o.web),
          healthChecks: [{ type: "tcp", connectTimeout: 2, retry: 1, delayBeforeRetry: 1 }],
          delayLoop: 3,
        },
      },
      {
        name: "echo",
        protocol: "tcp",
        address: HA_VIP,
        port: ECHO_PORT,
        scheduler: "rr",
        pool: { forwarding: { method: "dr" }, servers: pool(o.echo) },
      },
    ],
  };
}

/** True when `d` has the VIP on eth1. */
export async function holdsVip(d: LabDirector): Promise<boolean> {
  const out = await d.run("ip -o -4 addr show dev eth1");
  return out.includes(` ${HA_VIP}/`);
}

/**
 * Waits in the guest (a shell loop, no SSH round trip per probe) until `d` holds the VIP,
 * or `timeoutSec` passes; resolves to whether it does.
 */
export async function waitForVipOn(d: LabDirector, timeoutSec: number): Promise<boolean> {
  const r = await d.exec(
    `i=0; while [ $i -lt ${timeoutSec * 20} ]; do ip -o -4 addr show dev eth1 | grep -q ' ${HA_VIP}/' && exit 0; sleep 0.05; i=$((i+1)); done; exit 1`,
    { timeoutMs: (timeoutSec + 30) * 1000 },
  );
  return r.code === 0;
}

/** PID of the director's keepalived (from its pid file), or undefined. */
export async function keepalivedPidOf(d: LabDirector): Promise<number | undefined> {
  const r = await d.exec("p=$(cat /run/keepalived.pid 2>/dev/null) && kill -0 \"$p\" 2>/dev/null && echo \"$p\"");
  const n = Number(r.stdout.trim());
  return r.code === 0 && n > 0 ? n : undefined;
}

/** `ipvsadm -L -n --daemon`: which sync threads run ("master", "backup"). */
export async function syncDaemons(d: LabDirector): Promise<string[]> {
  const out = await d.run("ipvsadm -L -n --daemon");
  return [...out.matchAll(/^(master|backup) sync daemon/gm)].map((m) => m[1]!);
}

/**
 * The director's connection entries from the client to the VIP's `port` (`ipvsadm -L -n -c`),
 * only those from `clientPort` when given.
 */
export async function connectionsFrom(d: LabDirector, port: number, clientPort?: number): Promise<string[]> {
  const out = await d.run("ipvsadm -L -n -c");
  const from = clientPort === undefined ? `${HA_CLIENT}:` : `${HA_CLIENT}:${clientPort} `;
  return out.split("\n").filter((l) => l.includes(from) && l.includes(`${HA_VIP}:${port}`));
}

let echoSeq = 0;

/** A long-lived echo connection from the client namespace, sending a line every `ms`. */
export class EchoConnection {
  /** the client's source port: names the connection in `ipvsadm -L -n -c` */
  port = 0;

  private constructor(private readonly world: LabDirector, private readonly base: string) {}

  static async open(world: LabDirector, ms = 200): Promise<EchoConnection> {
    const base = `/run/ha/echo-client-${Date.now()}-${++echoSeq}`;
    await world.run(
      `nsenter --net=/run/netns/client setsid perl ${ECHO_TOOL} client ${HA_VIP} ${ECHO_PORT} ${ms} ${shq(`${base}.stop`)} < /dev/null > ${base}.out 2>&1 &`,
    );
    const c = new EchoConnection(world, base);
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const lines = await c.lines();
      if (lines.some((l) => l.startsWith("fail"))) throw new Error(`echo connection failed: ${lines.join("\n")}`);
      if (lines.filter((l) => l.startsWith("ok ")).length >= 3) {
        c.port = Number(/^connected \S+ (\d+)$/m.exec(lines.join("\n"))?.[1] ?? 0);
        return c;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    throw new Error(`echo connection did not start: ${(await c.lines()).join("\n")}`);
  }

  /** The client's output so far. */
  async lines(): Promise<string[]> {
    return (await this.world.run(`cat ${this.base}.out 2>/dev/null || true`)).split("\n").filter((l) => l !== "");
  }

  /** The guest's uptime now (the clock of the client's timestamps). */
  async now(): Promise<number> {
    return Number((await this.world.run("cut -d' ' -f1 /proc/uptime")).trim());
  }

  /** Stops the client and returns its whole output. */
  async close(): Promise<string[]> {
    await this.world.run(`touch ${this.base}.stop`);
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      const lines = await this.lines();
      if (lines.some((l) => l.startsWith("done") || l.startsWith("fail"))) return lines;
      await new Promise((r) => setTimeout(r, 300));
    }
    return this.lines();
  }
}

/** Parsed echo output: answers with their uptime stamps, the serving real server, failures. */
export function parseEcho(lines: readonly string[]): { answers: { seq: number; t: number; server: string; echoed: string }[]; failures: string[] } {
  const answers: { seq: number; t: number; server: string; echoed: string }[] = [];
  const failures: string[] = [];
  for (const l of lines) {
    const m = /^ok (\d+) ([\d.]+) (\S+) (.*)$/.exec(l);
    if (m) answers.push({ seq: Number(m[1]), t: Number(m[2]), server: m[3]!, echoed: m[4]! });
    else if (l.startsWith("fail")) failures.push(l);
  }
  return { answers, failures };
}
