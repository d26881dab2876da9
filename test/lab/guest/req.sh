#!/bin/sh
# Sends N requests from the client namespace and prints, one per line, the name of the
# real server that answered each (failures print nothing; the summary line
# "ok=N fail=K" goes to stderr; exit status 1 when any request failed).
#   req.sh [-u] [-n N] [-t SECONDS] [-p PATH] [-s NAMESPACE] ADDR PORT
#   -u  UDP (one datagram per request, fresh source port each time) instead of HTTP GET
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
proto=http n=10 t=3 path=/ ns=client
while getopts un:t:p:s: o; do
  case "$o" in
    u) proto=udp ;; n) n=$OPTARG ;; t) t=$OPTARG ;; p) path=$OPTARG ;; s) ns=$OPTARG ;;
    *) echo "usage: req.sh [-u] [-n N] [-t SECONDS] [-p PATH] [-s NAMESPACE] ADDR PORT" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 2 ] || { echo "usage: req.sh [-u] [-n N] [-t SECONDS] [-p PATH] [-s NAMESPACE] ADDR PORT" >&2; exit 2; }
exec nsenter --net="/run/netns/$ns" perl /lab/labnet.pl "$proto" "$n" "$1" "$2" "$t" "$path"
