#!/bin/bash
# Watches the WireGuard devices of a sandbox run from outside it (as root, next to `./egress sandbox`):
#
#   sandbox/tools/wg-watch.sh capture FILE
#       every second, every wireguard-go process's device (pods' devices in their nodes' tunnel holders,
#       gateways' in their containers), read over its UAPI socket (reached through /proc/PID/root): one line
#       per peer: time, device, listen port, peer public key (hex), endpoint, allowed IPs, latest handshake
#       (epoch s), rx, tx, keepalive. Private keys are not written. Runs until killed.
#   sandbox/tools/wg-watch.sh timeline FILE POD_IP POD_DEVICE [FROM [TO]]
#       from a capture: the pod device's gateway peer and every gateway peer whose allowed IPs are
#       POD_IP/32, printed when its endpoint or latest handshake changes (FROM, TO: HH:MM:SS, UTC).
#       A gateway whose latest handshake with the pod moves while the pod's watchdog started none (its
#       log) started that handshake; the pod's endpoint flipping between two addresses is WireGuard
#       roaming to whichever gateway's packet came last.
set -uo pipefail
case "${1:-}" in
  capture)
    out=$2
    while :; do
      ts=$(date -u +%H:%M:%S.%N | cut -c1-12)
      for pid in $(pgrep -x wireguard-go); do
        dev=$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null | awk '{print $NF}')
        sock=/proc/$pid/root/run/wireguard/$dev.sock
        [ -S "$sock" ] || sock=/proc/$pid/root/var/run/wireguard/$dev.sock
        [ -S "$sock" ] || continue
        printf 'get=1\n\n' | timeout 2 socat -t1 - UNIX-CONNECT:"$sock" 2>/dev/null | awk -v ts="$ts" -v dev="$dev" -F= '
          function flush() { if (key != "") printf "%s %s %s %s %s %s %s %s %s %s\n", ts, dev, port, key, (ep == "" ? "(none)" : ep), (ips == "" ? "(none)" : ips), hs, rx, tx, ka }
          $1 == "listen_port" { port = $2 }
          $1 == "public_key" { flush(); key = $2; ep = ""; ips = ""; hs = 0; rx = 0; tx = 0; ka = 0 }
          $1 == "endpoint" { ep = $2 }
          $1 == "allowed_ip" { ips = (ips == "" ? $2 : ips "," $2) }
          $1 == "last_handshake_time_sec" { hs = $2 }
          $1 == "rx_bytes" { rx = $2 }
          $1 == "tx_bytes" { tx = $2 }
          $1 == "persistent_keepalive_interval" { ka = $2 }
          END { flush() }'
      done >> "$out"
      sleep 1
    done
    ;;
  timeline)
    [ $# -ge 4 ] || { echo "usage: $0 timeline FILE POD_IP POD_DEVICE [FROM [TO]]" >&2; exit 2; }
    awk -v ip="$3/32" -v dev="$4" -v from="${5:-}" -v to="${6:-99}" '
      NF >= 10 && $1 >= from && $1 <= to {
        if ($2 == dev) who = "pod     " $2; else if ($6 == ip) who = "gateway " $2; else next
        cur = $5 " " $7
        if (last[who] != cur) printf "%s %-22s endpoint %-22s handshake %s rx %s tx %s\n", $1, who, $5, $7, $8, $9
        last[who] = cur
      }' "$2"
    ;;
  *)
    sed -n '2,/^set /p' "$0" | sed '$d'
    exit 2
    ;;
esac
