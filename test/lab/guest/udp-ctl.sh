#!/bin/sh
# Controls the UDP responder on :5353 of the real-server namespaces (one perl process
# serves them all; see labnet.pl).
#   udp-ctl.sh start NS...   (re)starts it for these namespaces
#   udp-ctl.sh reload        makes it re-read /run/lab/rs/NS.vips (SIGHUP)
# It listens on the wildcard address and on every VIP in NS.vips, so DR and TUN replies
# leave with the VIP as source address. Returns once it is bound.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
dir=/run/lab/rs
cmd=$1
shift
rm -f "$dir/udp.bound"
case "$cmd" in
  start)
    if [ -s "$dir/udp.pid" ]; then kill "$(cat "$dir/udp.pid")" 2>/dev/null; rm -f "$dir/udp.pid"; fi
    setsid perl /lab/labnet.pl udp-server 5353 "$dir" "$@" </dev/null >>"$dir/udp.log" 2>&1 &
    ;;
  reload)
    kill -HUP "$(cat "$dir/udp.pid" 2>/dev/null)" 2>/dev/null ||
      { echo "udp-ctl: no UDP responder running" >&2; exit 1; }
    ;;
  *) echo "usage: udp-ctl.sh start NS... | reload" >&2; exit 2 ;;
esac
n=0
while [ ! -e "$dir/udp.bound" ] && [ "$n" -lt 400 ]; do usleep 25000; n=$((n + 1)); done
[ -e "$dir/udp.bound" ] || { echo "udp-ctl: UDP responder not ready" >&2; cat "$dir/udp.log" >&2; exit 1; }
