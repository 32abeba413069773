#!/bin/sh
# The namespace holder: makes and keeps the gateway member's per-configuration network namespaces, so that
# the member needs no mount propagation to the host (which Kubernetes grants only to privileged containers)
# and its namespaces still outlive its restarts and upgrades. Each namespace is held by one sleeping process
# made with `unshare --net`; the member, sharing the host's PID namespace, gives it a name in its own
# /var/run/netns with `ip netns attach <name> <pid>`.
#
#   netns-holder.sh          listen on $NETNS_HOLDER_SOCKET (root only) and serve each connection with:
#   netns-holder.sh serve    read one request line and answer it:
#                              add <name>   make the namespace, or find the one held under that name: "ok <pid>"
#                              del <name>   end the process holding it: "ok" (also when none was held)
#                              list         "<name> <pid>" for each namespace held, then "ok"
#                            anything else, or a name that is not plain: "error <why>"
#
# Held namespaces are noted in $NETNS_HOLDER_STATE, one file per name with "<pid> <net:[inode]>"; a note
# whose process is gone (or whose PID now names another namespace) counts as not held. The DaemonSet uses
# updateStrategy OnDelete: an upgrade never restarts the holder; deleting its pod (node maintenance) ends
# the namespaces the member has not attached, and the member makes them again.
set -eu
SOCKET="${NETNS_HOLDER_SOCKET:-/var/run/kube-egress-gateway/netns.sock}"
STATE="${NETNS_HOLDER_STATE:-$(dirname "$SOCKET")/netns-held}"

# the pid holding namespace $1, if its note is still true
held() {
  f="$STATE/$1"
  [ -f "$f" ] || return 1
  pid=""; nsid=""
  read -r pid nsid < "$f" || true
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  [ -n "$nsid" ] && [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$nsid" ] || return 1
  echo "$pid"
}

if [ "${1:-}" = serve ]; then
  line=""
  IFS= read -r line || true
  verb="${line%% *}"
  name=""
  [ "$verb" = "$line" ] || name="${line#* }"
  case "$verb" in add|del|list) ;; *) echo "error unknown request"; exit 0 ;; esac
  if [ "$verb" != list ]; then
    # the name becomes a file here and under the member's /var/run/netns: nothing but a plain name
    case "$name" in
      ''|*[!A-Za-z0-9_.-]*|-*|.|..) echo "error invalid namespace name"; exit 0 ;;
    esac
    if [ "${#name}" -gt 64 ]; then echo "error invalid namespace name"; exit 0; fi
  elif [ -n "$name" ]; then
    echo "error list takes no argument"; exit 0
  fi
  mkdir -p "$STATE"
  # one request at a time changes the notes; the holding processes must not keep the lock
  exec 9>"$STATE/.lock"
  flock 9
  case "$verb" in
    add)
      if pid=$(held "$name"); then echo "ok $pid"; exit 0; fi
      own=$(readlink /proc/self/ns/net)
      setsid unshare --net sleep infinity </dev/null >/dev/null 2>&1 9>&- &
      pid=$!
      i=0
      nsid=$(readlink "/proc/$pid/ns/net" 2>/dev/null || true)
      while [ "$nsid" = "$own" ] || [ -z "$nsid" ]; do
        i=$((i + 1))
        if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
          kill "$pid" 2>/dev/null || true
          echo "error unshare --net did not make a namespace"; exit 0
        fi
        sleep 0.05
        nsid=$(readlink "/proc/$pid/ns/net" 2>/dev/null || true)
      done
      echo "$pid $nsid" > "$STATE/$name.tmp"
      mv "$STATE/$name.tmp" "$STATE/$name"
      echo "ok $pid"
      ;;
    del)
      if pid=$(held "$name"); then kill "$pid" 2>/dev/null || true; fi
      rm -f "$STATE/$name"
      echo "ok"
      ;;
    list)
      for f in "$STATE"/*; do
        [ -f "$f" ] || continue
        n=$(basename "$f")
        case "$n" in *.tmp) continue ;; esac
        if pid=$(held "$n"); then echo "$n $pid"; else rm -f "$f"; fi
      done
      echo "ok"
      ;;
  esac
  exit 0
fi

mkdir -p "$(dirname "$SOCKET")" "$STATE"
echo "netns holder: listening on $SOCKET"
# -t: the member half-closes after its request line; socat's default is to end the exchange 0.5 s after that,
# which a busy node's `sh` may not meet: wait for the answer up to the member's own limit
exec socat -t 10 -lf /dev/stderr UNIX-LISTEN:"$SOCKET",fork,unlink-early,mode=0600 EXEC:"/bin/sh $0 serve"
