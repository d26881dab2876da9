#!/bin/sh
# Prepares the real servers for a forwarding method. Additive: DR, TUN and NAT services
# can coexist on the same real servers (each with its own VIP).
#   rs-mode.sh nat [VIP...]   nothing beyond the default route via the director
#   rs-mode.sh dr VIP...      VIP on the namespace's lo, arp_ignore=1, arp_announce=2
#   rs-mode.sh tun VIP...     IPv4 VIP on tunl0, IPv6 VIP on ip6tnl0, rp_filter=0; the
#                             fallback devices tunl0 ip6tnl0 gre0 ip6gre0 come up, so
#                             --tun-type ipip and gre both arrive (gue: see next line)
#   rs-mode.sh gue PORT       also decapsulate GUE on UDP PORT (--tun-type gue --tun-port)
#   rs-mode.sh reset          removes every VIP again
# env RS="rs1 rs2" limits it to some real servers (default: all that exist).
set -e
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
usage() { echo "usage: rs-mode.sh nat|dr|tun|reset [VIP...] | gue PORT" >&2; exit 2; }
[ $# -ge 1 ] || usage
mode=$1
shift
case "$mode" in nat|reset) ;; dr|tun) [ $# -ge 1 ] || usage ;; gue) [ $# -eq 1 ] || usage ;; *) usage ;; esac
if [ -z "$RS" ]; then
  for ns in rs1 rs2 rs3; do [ -e "/run/netns/$ns" ] && RS="$RS $ns"; done
fi
[ -n "$RS" ] || { echo "rs-mode.sh: no real-server namespaces; run /lab/net-setup.sh first" >&2; exit 1; }
[ "$mode" = nat ] && exit 0

for ns in $RS; do
  [ -e "/run/netns/$ns" ] || { echo "rs-mode.sh: no namespace $ns" >&2; exit 1; }
  vf=/run/lab/rs/$ns.vips
  in_ns() { nsenter --net="/run/netns/$ns" "$@"; }
  case "$mode" in
    reset)
      {
        for v in $(cat "$vf" 2>/dev/null); do
          case "$v" in *:*) len=128 ;; *) len=32 ;; esac
          for dev in lo tunl0 ip6tnl0; do echo "addr del $v/$len dev $dev"; done
        done
      } | ip -force -n "$ns" -batch - 2>/dev/null || true
      : >"$vf"
      ;;
    dr)
      in_ns sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
        net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
      for v in "$@"; do
        case "$v" in *:*) echo "addr replace $v/128 dev lo nodad" ;; *) echo "addr replace $v/32 dev lo" ;; esac
      done | ip -n "$ns" -batch -
      ;;
    tun)
      in_ns sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
        net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0 \
        net.ipv4.conf.gre0.rp_filter=0 \
        net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
      {
        for dev in tunl0 ip6tnl0 gre0 ip6gre0; do echo "link set $dev up"; done
        for v in "$@"; do
          case "$v" in *:*) echo "addr replace $v/128 dev ip6tnl0 nodad" ;; *) echo "addr replace $v/32 dev tunl0" ;; esac
        done
      } | ip -n "$ns" -batch -
      ;;
    gue)
      printf '%s\n' "fou add port $1 gue" "fou add port $1 gue -6" | ip -force -n "$ns" -batch - 2>/dev/null || true
      ip -n "$ns" fou show | grep -q "port $1 gue" || { echo "rs-mode.sh: no GUE port $1 in $ns" >&2; exit 1; }
      in_ns sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0
      printf '%s\n' "link set tunl0 up" "link set ip6tnl0 up" | ip -n "$ns" -batch -
      continue
      ;;
  esac
  if [ "$mode" != reset ]; then
    for v in "$@"; do grep -qx "$v" "$vf" 2>/dev/null || echo "$v" >>"$vf"; done
  fi
done
/lab/udp-ctl.sh reload
