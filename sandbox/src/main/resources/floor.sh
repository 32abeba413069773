#!/bin/bash
# The floor of a pod ADD: what a pod's egress needs, done by a plain script without the product. For each pod:
# a network namespace, the ptp + host-local CNI plugins (the CNI protocol, run as a container runtime runs
# them), a wireguard-go device made in the node's namespace, keyed, peered with a gateway and moved into the
# pod as wg0, the pod's routes (exceptions via eth0, the rest into wg0), the pod's peer on the gateway, and
# the first packet through the tunnel (a ping answered by the gateway). Everything lives in namespaces this
# script makes ($FLOOR_NS-*); the root namespace gets no address, route or rule.
#
#   floor.sh setup STATE_DIR CNI_BIN      node and gateway namespaces, the gateway's wireguard-go
#   floor.sh run STATE_DIR CNI_BIN N B    N pods, B at a time (the next B once the previous are done);
#                                         prints "floor-pod I READY_MS ADD_MS ok|failed WHY" per pod
#   floor.sh teardown STATE_DIR           stops its processes (by the PIDs it recorded), removes its namespaces
set -u
umask 077
cmd=$1 ST=$2
# names: FLOOR_NS (namespaces, default egs-floor) and FLOOR_DEV (links, at most 5 characters, default egsf)
P=${FLOOR_NS:-egs-floor} D=${FLOOR_DEV:-egsf}
NODE=$P-node GW=$P-gw
GW_UNDERLAY=172.31.255.2 NODE_UNDERLAY=172.31.255.1 WG_PORT=51820
TARGET=192.0.2.1           # on the gateway's lo: the first packet's destination through the tunnel
SUBNET=10.250.0.0/16

now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
in_ns() { local n=$1; shift; nsenter --net=/run/netns/"$n" -- "$@"; }

# wireguard-go NAME in namespace NS, in the background; waits for its UAPI socket (and records its PID)
wg_start() {
  local ns=$1 name=$2 i
  # nsenter execs wireguard-go: $! is its PID
  nsenter --net=/run/netns/"$ns" -- wireguard-go -f "$name" >"$ST/$name.log" 2>&1 </dev/null &
  echo $! >"$ST/pids/$name"
  for i in $(seq 200); do
    [ -S /var/run/wireguard/"$name".sock ] && return 0
    sleep 0.01
  done
  echo "wireguard-go $name did not come up" >&2
  return 1
}

setup() {
  local CNI_BIN=$1
  mkdir -p "$ST/pids" "$ST/ipam" "$ST/keys"
  ip netns add $NODE && ip netns add $GW || return 1
  ip -n $NODE link set lo up && ip -n $GW link set lo up
  ip -n $NODE link add ${D}n0 type veth peer name ${D}g0 netns $GW
  ip -n $NODE addr add $NODE_UNDERLAY/30 dev ${D}n0 && ip -n $NODE link set ${D}n0 up
  ip -n $GW addr add $GW_UNDERLAY/30 dev ${D}g0 && ip -n $GW link set ${D}g0 up
  ip -n $GW addr add $TARGET/32 dev lo
  wg genkey >"$ST/keys/gw.key" && wg pubkey <"$ST/keys/gw.key" >"$ST/keys/gw.pub"
  wg_start $GW ${D}gw || return 1
  wg set ${D}gw private-key "$ST/keys/gw.key" listen-port $WG_PORT || return 1
  ip -n $GW addr add fe80::1/64 dev ${D}gw && ip -n $GW link set ${D}gw up
  # the node's primary network: ptp with host-local, as the sandbox's nodes have it
  cat >"$ST/ptp.json" <<EOF
{"cniVersion": "1.0.0", "name": "floor", "type": "ptp", "ipMasq": false, "mtu": 1500,
 "ipam": {"type": "host-local", "subnet": "$SUBNET", "dataDir": "$ST/ipam", "routes": [{"dst": "0.0.0.0/0"}]}}
EOF
  # the node has no default route of its own (only the underlay): the pods' tunnels need none
}

# one pod's ADD, timed; prints its line
pod_add() {
  local CNI_BIN=$1 i=$2 t0 t1 t2 ns=$P-p$2 dev=$D$2 out ip gw key pub n why=""
  t0=$(now_ms)
  {
    ip netns add "$ns" || { why="netns"; false; }
  } && {
    out=$(CNI_COMMAND=ADD CNI_CONTAINERID=floor$i CNI_NETNS=/var/run/netns/$ns CNI_IFNAME=eth0 CNI_PATH=$CNI_BIN \
      in_ns $NODE "$CNI_BIN/ptp" <"$ST/ptp.json") || { why="ptp: $out"; false; }
  } && {
    ip=$(echo "$out" | tr -d ' \n' | sed -n 's/.*"address":"\([0-9.]*\)\/[0-9]*".*/\1/p')
    gw=$(echo "$out" | tr -d ' \n' | sed -n 's/.*"gateway":"\([0-9.]*\)".*/\1/p')
    [ -n "$ip" ] && [ -n "$gw" ] || { why="no address in the ptp result: $out"; false; }
  } && {
    key=$(wg genkey) && pub=$(echo "$key" | wg pubkey) && echo "$key" >"$ST/keys/$dev.key" || { why="keys"; false; }
  } && {
    wg_start $NODE "$dev" || { why="wireguard-go"; false; }
  } && {
    out=$(wg set "$dev" private-key "$ST/keys/$dev.key" peer "$(cat "$ST/keys/gw.pub")" endpoint $GW_UNDERLAY:$WG_PORT \
      allowed-ips 0.0.0.0/0 2>&1) || { why="wg set: $out"; false; }
  } && {
    ip -n $NODE link set "$dev" netns "$ns" && ip -n "$ns" link set "$dev" name wg0 && ip -n "$ns" link set wg0 up \
      && ip -n "$ns" route replace 10.224.0.0/16 via "$gw" dev eth0 && ip -n "$ns" route replace 10.244.0.0/16 via "$gw" dev eth0 \
      && ip -n "$ns" -4 route replace 0.0.0.0/0 via inet6 fe80::1 dev wg0 || { why="pod routes"; false; }
  } && {
    out=$(wg set ${D}gw peer "$pub" allowed-ips "$ip/32" 2>&1 && ip -n $GW route replace "$ip/32" dev ${D}gw 2>&1) \
      || { why="gateway peer: $out"; false; }
  } && {
    t1=$(now_ms)
    n=0
    until in_ns "$ns" ping -c 1 -W 1 -q $TARGET >/dev/null 2>&1; do
      n=$((n + 1))
      [ $n -lt 5 ] || { why="no reply through the tunnel"; break; }
    done
    [ -z "$why" ]
  }
  local rc=$?
  t2=$(now_ms)
  if [ $rc -eq 0 ]; then
    echo "floor-pod $i $((t2 - t0)) $((t1 - t0)) ok"
  else
    echo "floor-pod $i $((t2 - t0)) -1 failed $why" | tr '\n' ' '
    echo
  fi
}

run() {
  local CNI_BIN=$1 N=$2 B=$3 i=1 j
  while [ $i -le "$N" ]; do
    for j in $(seq $i $((i + B - 1))); do
      [ "$j" -le "$N" ] && pod_add "$CNI_BIN" "$j" &
    done
    wait
    i=$((i + B))
  done
}

teardown() {
  local f p c
  if [ -d "$ST/pids" ]; then
    for f in "$ST"/pids/*; do
      [ -e "$f" ] || continue
      p=$(cat "$f"); c=$(cat /proc/"$p"/comm 2>/dev/null || true)
      [ "$c" = wireguard-go ] && kill "$p" 2>/dev/null
      rm -f "$f"
    done
  fi
  for f in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns delete "$f"; done
  rm -rf "$ST/ipam" "$ST/keys"
  true
}

case "$cmd" in
  setup) setup "$3";;
  run) run "$3" "$4" "$5";;
  teardown) teardown;;
  *) echo "usage: floor.sh setup|run|teardown STATE_DIR ..." >&2; exit 2;;
esac
