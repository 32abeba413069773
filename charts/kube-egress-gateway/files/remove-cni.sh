#!/bin/sh
# preStop of the worker: removes the chained conflist and the plugin from the host, but only when the
# worker DaemonSet itself is gone (helm uninstall). A rollout, a drain or an eviction leaves them in place,
# so new pods never start without the tunnel while a worker restarts.
#   WORKER_DAEMONSET  name of the DaemonSet; NAMESPACE its namespace; CNI_* as in install-cni.sh
set -u
BIN=${CNI_BIN_DIR:-/host/opt/cni/bin}
CONF=${CNI_CONF_DIR:-/host/etc/cni/net.d}
NAME=${CNI_CONF_NAME:-01-egressgateway.conflist}
PLUGIN=kube-egress-cni
SA=${SERVICE_ACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
API=${KUBERNETES_API:-https://${KUBERNETES_SERVICE_HOST:-kubernetes.default.svc}:${KUBERNETES_SERVICE_PORT:-443}}

body=$(mktemp)
trap 'rm -f "$body"' EXIT
code=$(curl -sS -o "$body" -w '%{http_code}' --max-time 10 --cacert "$SA/ca.crt" \
  -H "Authorization: Bearer $(cat "$SA/token")" \
  "$API/apis/apps/v1/namespaces/$NAMESPACE/daemonsets/$WORKER_DAEMONSET") || code=error
if [ "$code" = 200 ] && ! jq -e '.metadata.deletionTimestamp' "$body" >/dev/null 2>&1; then
  echo "remove-cni: $WORKER_DAEMONSET still exists; keeping the CNI config" >&2
  exit 0
fi
if [ "$code" != 404 ] && [ "$code" != 200 ]; then
  echo "remove-cni: cannot tell whether $WORKER_DAEMONSET exists (HTTP $code); keeping the CNI config" >&2
  exit 0
fi
rm -f "$CONF/$NAME" "$BIN/$PLUGIN" "$BIN/$PLUGIN.d"
# the cni-chain sidecar stops on SIGTERM and never re-creates a missing conflist; a rewrite it had already
# begun lands within milliseconds, so a second removal a moment later settles it
sleep "${REMOVE_SETTLE_SECONDS:-2}"
rm -f "$CONF/$NAME"
rm -rf "$BIN/$PLUGIN"-*.d
echo "remove-cni: removed $NAME and $PLUGIN from the host" >&2
