{{/* Names, labels and the pieces every workload shares. */}}

{{- define "keg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "keg.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a component's objects: keg.component (dict "root" $ "component" "controller") */}}
{{- define "keg.component" -}}
{{- printf "%s-%s" (include "keg.fullname" .root | trunc 50 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "keg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keg.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "keg.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kube-egress-gateway
{{- if .component }}
{{ include "keg.selectorLabels" . }}
{{- else }}
app.kubernetes.io/name: {{ include "keg.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The image reference; there is no published image, so rendering stops until one is configured. */}}
{{- define "keg.image" -}}
{{- $repo := required "image.repository is required: no kube-egress-gateway image is published. Build one from the Dockerfile in the repository root, push it, and set image.repository and image.tag (or image.digest)." .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (required "image.tag (or image.digest) is required: set the tag of the image you built and pushed." .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Label carried by the pods other members contact first (Akka Cluster Bootstrap). */}}
{{- define "keg.contactPointLabel" -}}
egressgateway.kubernetes.azure.com/contact-point
{{- end -}}

{{/* The remoting TLS Secret of one role (dict "root" "role"): its own unless a single one is given for all. */}}
{{- define "keg.remoteTlsSecret" -}}
{{- $tls := .root.Values.cluster.tls -}}
{{- if $tls.existingSecret -}}
{{- $tls.existingSecret -}}
{{- else -}}
{{- default (printf "%s-remote-tls-%s" (include "keg.fullname" .root) .role) (index $tls.existingSecrets .role) -}}
{{- end -}}
{{- end -}}

{{- define "keg.azureEnvironment" -}}
{{- printf "%s-azure-environment" (include "keg.fullname" .) -}}
{{- end -}}

{{- define "keg.cloudConfigSecret" -}}
{{- default (printf "%s-azure-cloud-config" (include "keg.fullname" .)) .Values.azure.existingCloudConfigSecret -}}
{{- end -}}

{{/*
The namespace of the gateway key Secrets (gatewayKeys.namespace, default <release namespace>-keys; a release namespace
is "default" where a tool renders without one, as helm lint may).
*/}}
{{- define "keg.keysNamespace" -}}
{{- default (printf "%s-keys" (default "default" .Release.Namespace)) .Values.gatewayKeys.namespace -}}
{{- end -}}

{{/* Environment shared by every member: node, cluster bootstrap, remoting TLS, management, namespaces. */}}
{{- define "keg.memberEnv" -}}
{{- $root := .root -}}
- name: EGRESS_ROLES
  value: {{ .role | quote }}
- name: EGRESS_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: EGRESS_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: EGRESS_KEY_NAMESPACE
  value: {{ include "keg.keysNamespace" $root | quote }}
- name: EGRESS_REMOTE_HOST
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: EGRESS_REMOTE_PORT
  value: {{ $root.Values.cluster.remotePort | quote }}
{{- /* the address Cluster Bootstrap knows this member by: it must be the one discovery finds (the pod IP) */}}
- name: EGRESS_MANAGEMENT_HOST
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: EGRESS_MANAGEMENT_PORT
  value: {{ $root.Values.cluster.managementPort | quote }}
- name: EGRESS_DISCOVERY
  value: kubernetes
- name: EGRESS_K8S_SERVICE_NAME
  value: {{ include "keg.fullname" $root | quote }}
- name: EGRESS_K8S_POD_LABEL_SELECTOR
  value: {{ printf "app.kubernetes.io/instance=%s,%s=true" $root.Release.Name (include "keg.contactPointLabel" $root) | quote }}
- name: EGRESS_K8S_REQUIRED_CONTACT_POINTS
  value: {{ max 1 (min 2 $root.Values.controller.replicas) | quote }}
- name: EGRESS_REMOTE_TLS
  value: {{ $root.Values.cluster.tls.enabled | quote }}
{{- if $root.Values.cluster.tls.enabled }}
- name: EGRESS_REMOTE_TLS_DIR
  value: /etc/egress/remote-tls
- name: EGRESS_SECURITY_ENFORCE
  value: {{ $root.Values.cluster.tls.enforceRoles | quote }}
{{- end }}
- name: JAVA_TOOL_OPTIONS
  value: {{ .javaOptions | quote }}
{{- end -}}

{{/*
The node-local journal of a gateway or worker member: the bundled PostgreSQL in a directory of the node,
one per role, kept across container restarts and upgrades. The member makes it 0700 and keeps the
database's generated password in it (0600).
*/}}
{{- define "keg.nodeJournalEnv" -}}
- name: EGRESS_JOURNAL_MODE
  value: node-local
- name: EGRESS_JOURNAL_DATA_DIR
  value: /var/lib/kube-egress-gateway/journal
{{- end -}}

{{- define "keg.nodeJournalMount" -}}
- name: journal
  mountPath: /var/lib/kube-egress-gateway/journal
{{- end -}}

{{- define "keg.nodeJournalVolume" -}}
- name: journal
  hostPath:
    path: {{ printf "%s/journal-%s" (trimSuffix "/" .root.Values.nodeJournal.hostPath) .role | quote }}
    type: DirectoryOrCreate
{{- end -}}

{{- define "keg.remoteTlsMount" -}}
{{- if .root.Values.cluster.tls.enabled }}
- name: remote-tls
  mountPath: /etc/egress/remote-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "keg.remoteTlsVolume" -}}
{{- if .root.Values.cluster.tls.enabled }}
- name: remote-tls
  secret:
    secretName: {{ include "keg.remoteTlsSecret" . }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* Liveness on /alive, readiness on /ready, both on the management port. */}}
{{- define "keg.probes" -}}
livenessProbe:
  httpGet:
    path: /alive
    port: management
  initialDelaySeconds: {{ .Values.probes.liveness.initialDelaySeconds }}
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /ready
    port: management
  initialDelaySeconds: {{ .Values.probes.readiness.initialDelaySeconds }}
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
{{- end -}}

{{- define "keg.memberPorts" -}}
- name: remoting
  containerPort: {{ .Values.cluster.remotePort }}
  protocol: TCP
- name: management
  containerPort: {{ .Values.cluster.managementPort }}
  protocol: TCP
{{- end -}}

{{/*
A container that runs `ip netns exec` (it mounts) without being privileged: AppArmor unconfined, as the
runtime's default profile forbids mounts. A securityContext field from Kubernetes 1.30, an annotation before.
*/}}
{{- define "keg.appArmorUnconfinedField" -}}
{{- if semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version }}
appArmorProfile:
  type: Unconfined
{{- end }}
{{- end -}}

{{- define "keg.appArmorUnconfinedAnnotation" -}}
{{- if not (semverCompare ">=1.30.0-0" .root.Capabilities.KubeVersion.Version) }}
container.apparmor.security.beta.kubernetes.io/{{ .container }}: unconfined
{{- end }}
{{- end -}}

{{/* The pod-level securityContext of the node agents: the runtime's default seccomp profile. */}}
{{- define "keg.podSeccomp" -}}
securityContext:
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/*
Node proofs (docs/security.md): each worker shows gateways the ServiceAccount token the kubelet projects into
its pod for this audience; the token is bound to the pod and names its node (Kubernetes 1.30 and later), so
a worker whose certificate names no node may still ask only for its own node's pods. On with role
enforcement, cluster.tls.nodeProof and a Kubernetes that puts the node into the token.
*/}}
{{- define "keg.nodeProof" -}}
{{- if and .Values.cluster.tls.enabled .Values.cluster.tls.enforceRoles .Values.cluster.tls.nodeProof (semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version) -}}
true
{{- end -}}
{{- end -}}

{{- define "keg.nodeProofAudience" -}}
{{- printf "kube-egress-gateway.%s.%s" .Release.Namespace .Release.Name -}}
{{- end -}}

{{- define "keg.nodeProofDir" -}}
/var/run/secrets/kube-egress-gateway/node-proof
{{- end -}}
