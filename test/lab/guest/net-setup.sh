#!/bin/sh
# Builds the lab's test network inside a director (documentation ranges only; see lab.ts):
#
#   client ns  eth0 198.51.100.2/24  2001:db8:c::2/64  <-> vc0 198.51.100.1/24  2001:db8:c::1/64
#   rs<i> ns   eth0 203.0.113.<16i+2>/28  2001:db8:<i>::2/64
#                                       <-> vr<i> 203.0.113.<16i+1>/28  2001:db8:<i>::1/64
#   VIP blocks 203.0.113.128/26 and 2001:db8:f::/64 are local on the director (a `local`
#   route on lo, so every address in them is a usable VIP without adding it).
#
# Every namespace's default route points at the director. Each real server runs
# busybox httpd on :80 and :8080 (body = its name, /port = the port) and a UDP
# responder on :5353 (answers with its name).
# Usage: net-setup.sh [--down] [--no-vip-routes]     env RS_COUNT (1..3, default 3)
# (ip runs in batches and namespaces are entered with busybox nsenter: every dynamically
# linked process costs ~80 ms under TCG)
set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
RS_COUNT=${RS_COUNT:-3}
VIP_ROUTES=1
DOWN=0
for a in "$@"; do
  case "$a" in
    --down) DOWN=1 ;;
    --no-vip-routes) VIP_ROUTES=0 ;;
    *) echo "net-setup.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
case "$RS_COUNT" in 1|2|3) ;; *) echo "net-setup.sh: RS_COUNT must be 1..3" >&2; exit 2 ;; esac

# teardown of a previous run
if [ -s /run/lab/rs/udp.pid ]; then kill "$(cat /run/lab/rs/udp.pid)" 2>/dev/null || true; fi
for ns in client rs1 rs2 rs3; do
  [ -e "/run/netns/$ns" ] || continue
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$ns"
done
rm -rf /run/lab/rs
printf '%s\n' "route del local 203.0.113.128/26 dev lo" "route del local 2001:db8:f::/64 dev lo" |
  ip -force -batch - 2>/dev/null || true
[ "$DOWN" = 1 ] && exit 0

sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
  net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
  net.ipv4.conf.all.accept_local=1 net.ipv4.conf.default.accept_local=1 \
  net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0

NS="client"
i=1
while [ "$i" -le "$RS_COUNT" ]; do NS="$NS rs$i"; i=$((i + 1)); done

# plan: NS DIR_IF DIR_V4/LEN NS_V4/LEN DIR_V6 NS_V6
plan() {
  echo "client vc0 198.51.100.1/24 198.51.100.2/24 2001:db8:c::1 2001:db8:c::2"
  i=1
  while [ "$i" -le "$RS_COUNT" ]; do
    echo "rs$i vr$i 203.0.113.$((16 * i + 1))/28 203.0.113.$((16 * i + 2))/28 2001:db8:$i::1 2001:db8:$i::2"
    i=$((i + 1))
  done
}

# director side, one ip process
{
  for ns in $NS; do echo "netns add $ns"; done
  plan | while read -r ns dif d4 n4 d6 n6; do
    echo "link add $dif type veth peer name eth0 netns $ns"
    echo "addr add $d4 dev $dif"
    echo "addr add $d6/64 dev $dif nodad"
    echo "link set $dif up"
  done
  if [ "$VIP_ROUTES" = 1 ]; then
    echo "route add local 203.0.113.128/26 dev lo"
    echo "route add local 2001:db8:f::/64 dev lo"
  fi
} | ip -batch -

# namespace side, one ip process each
plan | while read -r ns dif d4 n4 d6 n6; do
  nsenter --net="/run/netns/$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
    net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 \
    net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0
  printf '%s\n' "link set lo up" "addr add $n4 dev eth0" "addr add $n6/64 dev eth0 nodad" \
    "link set eth0 up" "route add default via ${d4%/*}" "route add ::/0 via $d6" |
    ip -n "$ns" -batch -
done

mkdir -p /run/lab/rs
RS_NS=
for ns in $NS; do
  [ "$ns" = client ] && continue
  RS_NS="$RS_NS $ns"
  for port in 80 8080; do
    www=/run/lab/rs/$ns-$port
    mkdir -p "$www"
    echo "$ns" >"$www/index.html"
    echo "$port" >"$www/port"
    nsenter --net="/run/netns/$ns" httpd -p "$port" -h "$www"
  done
  : >"/run/lab/rs/$ns.vips"
done
/lab/udp-ctl.sh start $RS_NS
echo "net-setup: $NS ready"
