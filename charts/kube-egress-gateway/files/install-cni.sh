#!/bin/sh
# Installs the CNI plugin, the Java runtime it needs and the chained conflist onto the host.
# Runs in the worker's init container; idempotent; every visible change is a rename, so the container
# runtime never sees a half-written binary, runtime or config.
#   CNI_SOURCE     plugin files in the image (kube-egress-cni.jar, jre/)          default /opt/egress/cni
#   CNI_BIN_DIR    the host's CNI binary directory, mounted                         default /host/opt/cni/bin
#   CNI_CONF_DIR   the host's CNI config directory, mounted                         default /host/etc/cni/net.d
#   CNI_HOST_BIN_DIR  the same binary directory as the host sees it                 default /opt/cni/bin
#   CNI_CONF_NAME  our conflist                                       default 01-egressgateway.conflist
#   CNI_SOCKET     agent socket path for the plugin                   default /var/run/kube-egress-gateway/cni.sock
#   CNI_TIMEOUT_SECONDS                                               default 10
#   CNI_WAIT_SECONDS  how long to wait for the primary network's config      default 300
#   CNI_WATCH_SECONDS >0: watch mode (the worker's cni-chain sidecar): installs no binaries; every N seconds
#                     re-chains when the primary network rewrote its config, but only while our conflist
#                     exists, so that the uninstall hook's removal sticks. CNI_WATCH_ROUNDS bounds the loop.
set -eu

SRC=${CNI_SOURCE:-/opt/egress/cni}
BIN=${CNI_BIN_DIR:-/host/opt/cni/bin}
CONF=${CNI_CONF_DIR:-/host/etc/cni/net.d}
HOST_BIN=${CNI_HOST_BIN_DIR:-/opt/cni/bin}
NAME=${CNI_CONF_NAME:-01-egressgateway.conflist}
SOCKET=${CNI_SOCKET:-/var/run/kube-egress-gateway/cni.sock}
TIMEOUT=${CNI_TIMEOUT_SECONDS:-10}
WAIT=${CNI_WAIT_SECONDS:-300}
WATCH=${CNI_WATCH_SECONDS:-0}
ROUNDS=${CNI_WATCH_ROUNDS:-0}
PLUGIN=kube-egress-cni

log() { echo "install-cni: $*" >&2; }
die() { log "$*"; exit 1; }

# The primary network's config (first by name, not ours) with our plugin appended, into $1.
primary_conf() {
  ls -1 "$CONF" 2>/dev/null | grep -E '\.(conflist|conf|json)$' | grep -vx "$NAME" | sort | head -n 1 || true
}
chain_into() {
  case "$primary" in
    *.conflist) filter='.plugins |= (map(select(.type != $p.type)) + [$p])' ;;
    *) filter='{cniVersion: .cniVersion, name: .name, plugins: [del(.cniVersion, .name), $p]}' ;;
  esac
  jq --argjson p "$ours" "$filter" "$CONF/$primary" > "$1"
}
# The capability asks containerd to pass the pod's annotations (runtimeConfig), so the plugin can add a pod that
# needs no gateway even while the node agent is down; runtimes that do not know it ignore it.
ours='{"type":"'$PLUGIN'","socketPath":"'$SOCKET'","timeoutSeconds":'$TIMEOUT',"capabilities":{"io.kubernetes.cri.pod-annotations":true}}'

if [ "$WATCH" -gt 0 ]; then
  trap 'exit 0' TERM INT
  [ -d "$CONF" ] || die "CNI config directory $CONF is not mounted"
  round=0
  while [ "$ROUNDS" -eq 0 ] || [ "$round" -lt "$ROUNDS" ]; do
    round=$((round + 1))
    primary=$(primary_conf)
    if [ -f "$CONF/$NAME" ] && [ -n "$primary" ]; then
      if chain_into "$CONF/.$NAME.new" 2>/dev/null; then
        if cmp -s "$CONF/.$NAME.new" "$CONF/$NAME"; then
          rm -f "$CONF/.$NAME.new"
        else
          mv -f "$CONF/.$NAME.new" "$CONF/$NAME"
          log "re-chained onto $primary, which changed"
        fi
      else
        rm -f "$CONF/.$NAME.new"
        log "cannot chain onto $CONF/$primary (not valid CNI JSON); keeping $NAME"
      fi
    fi
    [ "$ROUNDS" -ne 0 ] && [ "$round" -ge "$ROUNDS" ] && break
    sleep "$WATCH" & wait $!
  done
  exit 0
fi

[ -f "$SRC/$PLUGIN.jar" ] || die "$SRC/$PLUGIN.jar is missing from the image"
[ -x "$SRC/jre/bin/java" ] || die "$SRC/jre/bin/java is missing from the image"
[ -d "$BIN" ] || die "CNI binary directory $BIN is not mounted"
[ -d "$CONF" ] || die "CNI config directory $CONF is not mounted"

# 1. runtime + jar in a directory named after the jar's digest, published by renaming a symlink
version=$(sha256sum "$SRC/$PLUGIN.jar" | cut -c1-16)
target="$PLUGIN-$version.d"
if [ ! -d "$BIN/$target" ]; then
  stage=$(mktemp -d "$BIN/.$PLUGIN.stage.XXXXXX")
  cp "$SRC/$PLUGIN.jar" "$stage/$PLUGIN.jar"
  cp -R "$SRC/jre" "$stage/jre"
  chmod 0755 "$stage"
  mv "$stage" "$BIN/$target"
fi

# 2. class data sharing, for a cheaper JVM start on every CNI call: a default CDS archive for the bundled
#    runtime (a jlink image has none, and the plugin's archive builds on it), then the plugin's own archive
#    ($PLUGIN.jsa, made by the plugin's 'archive' mode with this runtime and the launcher's flags). Each appears
#    by a rename only, in the versioned directory (so it goes when the version goes). The plugin works without
#    them: a failure is logged, not fatal. The plugin's archive names the jar relative to its directory, so it
#    is valid on the host although made here under $BIN; the launcher runs java from that directory.
d="$BIN/$target"
cds="$d/jre/lib/server/classes.jsa"
if [ ! -f "$cds" ]; then
  if out=$("$d/jre/bin/java" -XX:+UseSerialGC -XX:-UsePerfData -Xshare:dump -XX:SharedArchiveFile="$cds.new" 2>&1) \
      && [ -s "$cds.new" ]; then
    mv -f "$cds.new" "$cds"
  else
    rm -f "$cds.new"
    log "cannot make the Java runtime's CDS archive (the plugin starts slower): $out"
  fi
fi
if [ ! -f "$d/$PLUGIN.jsa" ]; then
  "$d/jre/bin/java" -XX:+UseSerialGC -XX:-UsePerfData -Xmx32m -jar "$d/$PLUGIN.jar" archive "$d/$PLUGIN.jsa" >&2 \
    || log "no class data sharing archive for the plugin (it starts slower)"
fi

ln -sfn "$target" "$BIN/.$PLUGIN.d.new"
mv -T "$BIN/.$PLUGIN.d.new" "$BIN/$PLUGIN.d"

# 3. the launcher the runtime executes (the conflist's "type"). Java runs in the plugin's directory with the
#    jar's bare name, as the archive expects; the plugin resolves a relative logFile against the caller's
#    directory (kube-egress-cni.cwd). JVM warnings (such as an unusable archive) go to stderr: stdout is the
#    CNI result.
cat > "$BIN/.$PLUGIN.new" <<LAUNCHER
#!/bin/sh
# kube-egress-gateway CNI plugin launcher, installed by the worker DaemonSet
d="$HOST_BIN/$PLUGIN.d"
caller=\${PWD:-\$(pwd)}
cd "\$d" || exit 1
set -- -Dkube-egress-cni.cwd="\$caller" -jar $PLUGIN.jar "\$@"
if [ -f $PLUGIN.jsa ]; then set -- -XX:SharedArchiveFile=$PLUGIN.jsa "\$@"; fi
exec "\$d/jre/bin/java" -XX:+UseSerialGC -Xint -XX:-UsePerfData -Xshare:auto -Xmx32m -Xss512k -Xlog:all=off -Xlog:all=warning:stderr "\$@"
LAUNCHER
chmod 0755 "$BIN/.$PLUGIN.new"
mv -f "$BIN/.$PLUGIN.new" "$BIN/$PLUGIN"

# 4. drop runtimes of earlier versions
for old in "$BIN/$PLUGIN"-*.d; do
  [ -d "$old" ] && [ "$(basename "$old")" != "$target" ] && rm -rf "$old"
done

# 5. chain onto the primary network's config
waited=0
while :; do
  primary=$(primary_conf)
  [ -n "$primary" ] && break
  [ "$waited" -ge "$WAIT" ] && die "no primary CNI config in $CONF after ${WAIT}s"
  sleep 2; waited=$((waited + 2))
done
chain_into "$CONF/.$NAME.new" \
  || { rm -f "$CONF/.$NAME.new"; die "cannot chain onto $CONF/$primary (not valid CNI JSON)"; }
mv -f "$CONF/.$NAME.new" "$CONF/$NAME"
log "installed $PLUGIN ($version), chained onto $primary as $NAME"
