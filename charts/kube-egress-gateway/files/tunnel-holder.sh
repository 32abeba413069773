#!/bin/sh
# The tunnel holder: starts wireguard-go processes for the worker member, outside the member's container, so
# that they (and the pods' tunnels they serve) outlive the member's restarts and upgrades. Used only where
# the kernel has no WireGuard module (with the module, devices are kernel objects and outlive the member).
#
#   tunnel-holder.sh          listen on $TUNNEL_HOLDER_SOCKET (root only) and serve each connection with:
#   tunnel-holder.sh start    read one line "<netns or -> <device name>", start `wireguard-go -f <name>` in
#                             that namespace (- : this one, the node's), answer "ok <pid>" or "error <why>"
#
# The holder shares the host's PID namespace with the member, which supervises and stops the processes
# itself; the holder only starts them. Its DaemonSet uses updateStrategy OnDelete: an upgrade never
# restarts it, and deleting its pod (node maintenance) ends the node's wireguard-go tunnels.
set -eu
SOCKET="${TUNNEL_HOLDER_SOCKET:-/var/run/kube-egress-gateway/tunnels.sock}"
LOG_DIR="${TUNNEL_HOLDER_LOG_DIR:-/tmp/wireguard-go}"

if [ "${1:-}" = start ]; then
  line=""
  IFS= read -r line || true
  netns="${line%% *}"
  name="${line#* }"
  # the name becomes an interface name, a socket file and an argument: nothing but what Linux allows there
  case "$name" in
    ''|*[!A-Za-z0-9_.=+-]*|-*|.|..) echo "error invalid device name"; exit 0 ;;
  esac
  if [ "${#name}" -gt 15 ]; then echo "error invalid device name"; exit 0; fi
  case "$netns" in
    -) ;;
    ''|*[!A-Za-z0-9_.-]*|-*|.|..) echo "error invalid namespace name"; exit 0 ;;
  esac
  mkdir -p "$LOG_DIR"
  if [ "$netns" = - ]; then
    LOG_LEVEL=error setsid wireguard-go -f "$name" >"$LOG_DIR/$name.log" 2>&1 </dev/null &
  else
    LOG_LEVEL=error setsid ip netns exec "$netns" wireguard-go -f "$name" >"$LOG_DIR/$name.log" 2>&1 </dev/null &
  fi
  echo "ok $!"
  exit 0
fi

mkdir -p "$(dirname "$SOCKET")" /var/run/wireguard
echo "tunnel holder: listening on $SOCKET"
exec socat -lf /dev/stderr UNIX-LISTEN:"$SOCKET",fork,unlink-early,mode=0600 EXEC:"/bin/sh $0 start"
