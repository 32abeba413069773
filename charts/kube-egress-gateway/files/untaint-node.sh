#!/bin/sh
# Sidecar of the worker: once the member answers /ready, removes the cni-not-ready taint from its node
# (optimistic concurrency on resourceVersion), then idles. Nothing happens when the node has no such taint.
#   NODE_NAME, TAINT_KEY, MANAGEMENT_PORT; IDLE_SECONDS how long to idle afterwards (default: for ever)
set -u
SA=${SERVICE_ACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
API=${KUBERNETES_API:-https://${KUBERNETES_SERVICE_HOST:-kubernetes.default.svc}:${KUBERNETES_SERVICE_PORT:-443}}
api() { curl -sS --max-time 10 --cacert "$SA/ca.crt" -H "Authorization: Bearer $(cat "$SA/token")" "$@"; }

until curl -fsS --max-time 5 "${MANAGEMENT_URL:-http://127.0.0.1:$MANAGEMENT_PORT}/ready" >/dev/null 2>&1; do sleep 3; done
while :; do
  node=$(api -f "$API/api/v1/nodes/$NODE_NAME") || { echo "untaint-node: cannot read node $NODE_NAME; retrying" >&2; sleep 5; continue; }
  if ! echo "$node" | jq -e --arg k "$TAINT_KEY" '[.spec.taints[]? | select(.key == $k)] | length > 0' >/dev/null; then
    echo "untaint-node: $NODE_NAME has no $TAINT_KEY taint" >&2
    break
  fi
  patch=$(echo "$node" | jq -c --arg k "$TAINT_KEY" \
    '{metadata: {resourceVersion: .metadata.resourceVersion}, spec: {taints: [.spec.taints[] | select(.key != $k)]}}')
  code=$(api -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' \
    --data "$patch" "$API/api/v1/nodes/$NODE_NAME") || code=error
  if [ "$code" = 200 ]; then echo "untaint-node: removed $TAINT_KEY from $NODE_NAME" >&2; break; fi
  echo "untaint-node: patch answered $code; retrying" >&2
  sleep 5
done
exec sleep "${IDLE_SECONDS:-infinity}"
