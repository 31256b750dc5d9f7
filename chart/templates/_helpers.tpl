{{/* Names */}}
{{- define "rollcall.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rollcall.component" -}}
{{- printf "%s-%s" (include "rollcall.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels: call with (dict "root" $ "component" "worker") */}}
{{- define "rollcall.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "rollcall.labels" -}}
{{ include "rollcall.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: rollcall
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* repository:tag, pinned as repository:tag@digest when a digest is given: (dict "repository" "tag" "digest") */}}
{{- define "rollcall.imageRef" -}}
{{- if .digest -}}
{{- printf "%s:%s@%s" .repository (toString .tag) .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
{{- end -}}

{{/* One of Rollcall's images: (dict "root" $ "name" "control-plane" "digest" "controlPlane") */}}
{{- define "rollcall.image" -}}
{{- $image := .root.Values.image -}}
{{- include "rollcall.imageRef" (dict "repository" (printf "%s/rollcall-%s" $image.registry .name) "tag" (default .root.Chart.AppVersion $image.tag) "digest" (get $image.digest .digest)) -}}
{{- end -}}

{{/* Where the binaries read their credentials (the *_FILE variables), and where Redis and PostgreSQL read theirs. */}}
{{- define "rollcall.secretsPath" -}}/run/secrets/rollcall{{- end -}}

{{/* The generated Secret holding whatever credentials were not given as existing Secrets. */}}
{{- define "rollcall.secretName" -}}
{{- include "rollcall.fullname" . -}}
{{- end -}}

{{/* Non-root, read-only, nothing extra: every container of the chart. */}}
{{- define "rollcall.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "rollcall.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment: the API token, and the Redis and Postgres URLs; every secret is a file (*_FILE) in the
     projected volume "rollcall.secretVolume" mounts, never an environment variable. */}}
{{- define "rollcall.authEnv" -}}
- name: AUTH_TOKEN_FILE
  value: {{ include "rollcall.secretsPath" . }}/auth-token
{{- end -}}

{{/* "true" when each worker proves its name with its projected service-account token, else empty. */}}
{{- define "rollcall.serviceAccountTokens" -}}
{{- if .Values.auth.serviceAccountTokens.enabled }}true{{ end -}}
{{- end -}}

{{/* The control plane's TLS Secret (tls.crt, tls.key, ca.crt): yours, or cert-manager's. */}}
{{- define "rollcall.tlsSecretName" -}}
{{- .Values.tls.existingSecret | default (include "rollcall.component" (dict "root" . "component" "control-plane-tls")) -}}
{{- end -}}

{{/* The control plane's URL inside the cluster: https with tls.enabled. */}}
{{- define "rollcall.controlPlaneURL" -}}
{{ ternary "https" "http" .Values.tls.enabled }}://{{ include "rollcall.component" (dict "root" . "component" "control-plane") }}:{{ .Values.controlPlane.port }}
{{- end -}}

{{/* The service account of the worker Deployment of pool $d.pool: (dict "root" $ "pool" NAME). */}}
{{- define "rollcall.workerServiceAccount" -}}
{{- include "rollcall.component" (dict "root" .root "component" (include "rollcall.workerComponent" .pool)) -}}
{{- end -}}

{{/* The control plane's credentials and limits: the admin token, the reader token (AUTH_TOKENS_FILE),
the issuer of the workers' service-account tokens, the rate limit, TLS. */}}
{{- define "rollcall.accessEnv" -}}
{{- $a := .Values.auth -}}
- name: AUTH_TOKENS_FILE
  value: /etc/rollcall/pools/tokens.yaml
{{- if $a.serviceAccountTokens.enabled }}
- name: AUTH_OIDC_ISSUER
  value: {{ $a.serviceAccountTokens.issuer | quote }}
- name: AUTH_AUDIENCE
  value: {{ $a.serviceAccountTokens.audience | quote }}
- name: AUTH_OIDC_CA_FILE
  value: {{ include "rollcall.secretsPath" . }}/kube-api-ca.crt
- name: AUTH_OIDC_TOKEN_FILE
  value: {{ include "rollcall.secretsPath" . }}/kube-api-token
{{- end }}
{{- if $a.rateLimit }}
- name: RATE_LIMIT
  value: {{ $a.rateLimit | quote }}
- name: RATE_LIMIT_BURST
  value: {{ $a.rateLimitBurst | quote }}
{{- end }}
{{- if .Values.tls.enabled }}
- name: TLS_CERT_FILE
  value: {{ include "rollcall.secretsPath" . }}/tls.crt
- name: TLS_KEY_FILE
  value: {{ include "rollcall.secretsPath" . }}/tls.key
{{- end }}
{{- end -}}

{{/* The credentials one binary reads, as one read-only projected volume: (dict "root" $ "for" "control-plane"|"worker") */}}
{{- define "rollcall.secretVolume" -}}
{{- $v := .root.Values -}}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      {{- if or (eq .for "control-plane") (not $v.auth.serviceAccountTokens.enabled) }}
      - secret:
          name: {{ default (include "rollcall.secretName" .root) $v.auth.existingSecret }}
          items:
            - {key: {{ $v.auth.existingSecretKey }}, path: auth-token}
            {{- if eq .for "control-plane" }}
            - {key: {{ $v.auth.readerTokenKey }}, path: reader-token}
            {{- end }}
      {{- end }}
      {{- if eq .for "control-plane" }}
      {{- if $v.auth.serviceAccountTokens.enabled }}
      # The control plane's own token and the cluster's CA, for OIDC discovery at the API server.
      - serviceAccountToken: {path: kube-api-token, expirationSeconds: 3600}
      - configMap:
          name: kube-root-ca.crt
          items: [{key: ca.crt, path: kube-api-ca.crt}]
      {{- end }}
      {{- if $v.tls.enabled }}
      - secret:
          name: {{ include "rollcall.tlsSecretName" .root }}
          items: [{key: tls.crt, path: tls.crt}, {key: tls.key, path: tls.key}]
      {{- end }}
      {{- if $v.redis.external.existingSecret }}
      - secret:
          name: {{ $v.redis.external.existingSecret }}
          items: [{key: {{ $v.redis.external.existingSecretKey }}, path: redis-url}]
      {{- else if include "rollcall.deployRedis" .root }}
      - secret:
          name: {{ default (include "rollcall.secretName" .root) $v.redis.auth.existingSecret }}
          items: [{key: {{ $v.redis.auth.existingSecretKey }}, path: redis-password}]
      {{- end }}
      {{- if and $v.redis.external.sentinels $v.redis.external.sentinelExistingSecret }}
      - secret:
          name: {{ $v.redis.external.sentinelExistingSecret }}
          items: [{key: {{ $v.redis.external.sentinelExistingSecretKey }}, path: sentinel-password}]
      {{- end }}
      {{- else }}
      {{- if $v.auth.serviceAccountTokens.enabled }}
      # This pod's own identity: bound to the pod, for the control plane only, renewed by the kubelet.
      - serviceAccountToken:
          path: identity-token
          audience: {{ $v.auth.serviceAccountTokens.audience }}
          expirationSeconds: {{ $v.auth.serviceAccountTokens.expirationSeconds }}
      {{- end }}
      {{- if $v.tls.enabled }}
      - secret:
          name: {{ include "rollcall.tlsSecretName" .root }}
          items: [{key: ca.crt, path: control-plane-ca.crt}]
      {{- end }}
      {{- $k := .kafka | default dict }}
      {{- if $k.brokers }}
      {{- if $k.caSecret }}
      - secret:
          name: {{ $k.caSecret }}
          items: [{key: {{ $k.caSecretKey }}, path: kafka-ca.crt}]
      {{- end }}
      {{- if $k.clientCertSecret }}
      - secret:
          name: {{ $k.clientCertSecret }}
          items: [{key: tls.crt, path: kafka-client.crt}, {key: tls.key, path: kafka-client.key}]
      {{- end }}
      {{- if and $k.sasl $k.sasl.mechanism }}
      - secret:
          name: {{ required "worker.kafka.sasl.existingSecret: SASL needs the password's Secret" $k.sasl.existingSecret }}
          items: [{key: {{ $k.sasl.existingSecretKey }}, path: kafka-sasl-password}]
      {{- end }}
      {{- end }}
      {{- if $v.postgresql.external.caSecret }}
      - secret:
          name: {{ $v.postgresql.external.caSecret }}
          items: [{key: {{ $v.postgresql.external.caSecretKey }}, path: database-ca.crt}]
      {{- end }}
      {{- if $v.postgresql.external.existingSecret }}
      - secret:
          name: {{ $v.postgresql.external.existingSecret }}
          items: [{key: {{ $v.postgresql.external.existingSecretKey }}, path: database-url}]
      {{- else if include "rollcall.deployPostgresql" .root }}
      - secret:
          name: {{ default (include "rollcall.secretName" .root) $v.postgresql.auth.existingSecret }}
          items: [{key: {{ $v.postgresql.auth.existingSecretKey }}, path: database-password}]
      {{- end }}
      {{- end }}
{{- end -}}

{{/* The Redis password as a file for the Redis and Sentinel containers, at /run/secrets/redis/redis-password. */}}
{{- define "rollcall.redisSecretVolume" -}}
- name: redis-secret
  secret:
    secretName: {{ default (include "rollcall.secretName" .) .Values.redis.auth.existingSecret }}
    defaultMode: 0440
    items: [{key: {{ .Values.redis.auth.existingSecretKey }}, path: redis-password}]
{{- end -}}

{{- define "rollcall.redisEnv" -}}
{{- $secrets := include "rollcall.secretsPath" . -}}
{{- if .Values.redis.external.existingSecret }}
- name: REDIS_URL_FILE
  value: {{ $secrets }}/redis-url
{{- else if .Values.redis.external.url }}
- name: REDIS_URL
  value: {{ .Values.redis.external.url | quote }}
{{- else if .Values.redis.external.sentinels }}
{{- /* External Sentinels without a URL: a Redis without a password, database 0. */}}
{{- else }}
{{- /* With Sentinels only the password counts: the primary is whichever they name. */}}
- name: REDIS_URL
  value: "redis://{{ include "rollcall.component" (dict "root" . "component" "redis") }}{{ if include "rollcall.redisSentinel" . }}-headless{{ end }}:6379"
- name: REDIS_PASSWORD_FILE
  value: {{ $secrets }}/redis-password
{{- end }}
{{- if .Values.redis.external.sentinels }}
- name: REDIS_SENTINELS
  value: {{ .Values.redis.external.sentinels | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.external.masterName | quote }}
{{- if .Values.redis.external.sentinelExistingSecret }}
- name: REDIS_SENTINEL_PASSWORD_FILE
  value: {{ $secrets }}/sentinel-password
{{- end }}
{{- else if include "rollcall.redisSentinel" . }}
{{- /* The chart's Sentinels share the nodes' password. */}}
- name: REDIS_SENTINELS
  value: {{ include "rollcall.redisSentinelList" . | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.sentinel.masterName | quote }}
- name: REDIS_SENTINEL_PASSWORD_FILE
  value: {{ $secrets }}/redis-password
{{- end }}
{{- if or .Values.redis.external.sentinels (include "rollcall.redisSentinel" .) }}
- name: REDIS_MIN_REPLICAS
  value: {{ .Values.redis.sentinel.minReplicas | quote }}
- name: REDIS_REPLICATION_TIMEOUT
  value: {{ .Values.redis.sentinel.replicationTimeout | quote }}
- name: REDIS_PRIMARY_LEASE
  value: {{ .Values.redis.sentinel.primaryLease | quote }}
{{- end }}
{{- end -}}

{{/* Sentinel mode: a StatefulSet of Redis nodes, each with a Sentinel beside it. */}}
{{- define "rollcall.redisSentinel" -}}
{{- if and (include "rollcall.deployRedis" .) (eq .Values.redis.mode "sentinel") }}true{{ end -}}
{{- end -}}

{{/* The Sentinel StatefulSet's pods by their stable DNS names, space-separated, in ordinal order. */}}
{{- define "rollcall.redisPeers" -}}
{{- $name := include "rollcall.component" (dict "root" . "component" "redis") -}}
{{- $peers := list -}}
{{- range $i := until (int .Values.redis.sentinel.replicas) -}}
{{- $peers = append $peers (printf "%s-%d.%s-headless.%s.svc" $name $i $name $.Release.Namespace) -}}
{{- end -}}
{{- join " " $peers -}}
{{- end -}}

{{- define "rollcall.redisSentinelList" -}}
{{- $list := list -}}
{{- range $peer := splitList " " (include "rollcall.redisPeers" .) -}}
{{- $list = append $list (printf "%s:26379" $peer) -}}
{{- end -}}
{{- join "," $list -}}
{{- end -}}

{{- define "rollcall.databaseEnv" -}}
{{- if .Values.postgresql.external.existingSecret }}
- name: DATABASE_URL_FILE
  value: {{ include "rollcall.secretsPath" . }}/database-url
{{- else if .Values.postgresql.external.url }}
- name: DATABASE_URL
  value: {{ .Values.postgresql.external.url | quote }}
{{- else }}
- name: DATABASE_URL
  value: "postgres://{{ .Values.postgresql.username }}@{{ include "rollcall.component" (dict "root" . "component" "postgresql") }}:5432/{{ .Values.postgresql.database }}"
- name: DATABASE_PASSWORD_FILE
  value: {{ include "rollcall.secretsPath" . }}/database-password
{{- end }}
{{- if .Values.postgresql.external.caSecret }}
- name: DATABASE_CA_FILE
  value: {{ include "rollcall.secretsPath" . }}/database-ca.crt
{{- end }}
{{- end -}}

{{/* A worker Deployment's Kafka settings (its values' kafka): the brokers, topics and batch, and the
TLS and SASL files mounted from its Secrets. Nothing without brokers. */}}
{{- define "rollcall.kafkaEnv" -}}
{{- $k := .kafka | default dict -}}
{{- if $k.brokers }}
- name: KAFKA_BROKERS
  value: {{ $k.brokers | quote }}
- name: KAFKA_TOPICS
  value: {{ join "," $k.topics | quote }}
- name: KAFKA_BATCH
  value: {{ $k.batch | quote }}
{{- if $k.requestTopic }}
- name: KAFKA_REQUEST_TOPIC
  value: {{ $k.requestTopic | quote }}
{{- end }}
{{- if $k.caSecret }}
- name: KAFKA_CA_FILE
  value: {{ include "rollcall.secretsPath" .root }}/kafka-ca.crt
{{- end }}
{{- if $k.clientCertSecret }}
- name: KAFKA_CERT_FILE
  value: {{ include "rollcall.secretsPath" .root }}/kafka-client.crt
- name: KAFKA_KEY_FILE
  value: {{ include "rollcall.secretsPath" .root }}/kafka-client.key
{{- end }}
{{- if ($k.sasl | default dict).mechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
- name: KAFKA_SASL_USERNAME
  value: {{ $k.sasl.username | quote }}
- name: KAFKA_SASL_PASSWORD_FILE
  value: {{ include "rollcall.secretsPath" .root }}/kafka-sasl-password
{{- end }}
{{- end }}
{{- end -}}

{{/* "true" when any worker Deployment consumes Kafka, else empty. */}}
{{- define "rollcall.kafkaConsumed" -}}
{{- range (include "rollcall.workerDeployments" . | fromJsonArray) -}}
{{- if (.values.kafka | default dict).brokers -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* The worker's credentials for the control plane: its pod's own token (or the admin token), and the CA. */}}
{{- define "rollcall.workerAuthEnv" -}}
- name: AUTH_TOKEN_FILE
  value: {{ include "rollcall.secretsPath" . }}/{{ ternary "identity-token" "auth-token" .Values.auth.serviceAccountTokens.enabled }}
{{- if .Values.tls.enabled }}
- name: CONTROL_PLANE_CA_FILE
  value: {{ include "rollcall.secretsPath" . }}/control-plane-ca.crt
{{- end }}
{{- end -}}

{{- define "rollcall.deployRedis" -}}
{{- if not (or .Values.redis.external.url .Values.redis.external.existingSecret .Values.redis.external.sentinels) }}true{{ end -}}
{{- end -}}

{{/* Whether the chart runs PostgreSQL itself (postgresql.mode standalone); refuses a mode its values contradict. */}}
{{- define "rollcall.deployPostgresql" -}}
{{- $p := .Values.postgresql -}}
{{- $external := or $p.external.url $p.external.existingSecret -}}
{{- if eq $p.mode "external" -}}
{{- if not $external }}{{ fail "postgresql.mode is external: set postgresql.external.url or postgresql.external.existingSecret (CloudNativePG: <cluster>-app, existingSecretKey uri)" }}{{ end -}}
{{- else -}}
{{- if $external }}{{ fail "postgresql.external is set but postgresql.mode is standalone: set postgresql.mode=external to use your own PostgreSQL" }}{{ end -}}
true
{{- end -}}
{{- end -}}

{{/* NetworkPolicy egress rule: DNS to any resolver (cluster DNS runs under different labels in different clusters). */}}
{{- define "rollcall.dnsEgress" -}}
- ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
{{- end -}}

{{/* The label matchers every alert and dashboard query of this release uses (added by its PodMonitors). */}}
{{- define "rollcall.metricSelector" -}}
namespace="{{ .Release.Namespace }}", rollcall_release="{{ .Release.Name }}"
{{- end -}}

{{/* The component label of a pool's workers: `worker` for the default pool (as before pools), `worker-NAME` for another. */}}
{{- define "rollcall.workerComponent" -}}
{{- if eq . "default" }}worker{{ else }}worker-{{ . }}{{ end -}}
{{- end -}}

{{/* A label selector of every worker pod of the release, whatever its pool: (dict "root" $) */}}
{{- define "rollcall.workerSelector" -}}
matchLabels:
  app.kubernetes.io/name: {{ .root.Chart.Name }}
  app.kubernetes.io/instance: {{ .root.Release.Name }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values:
      - worker
      {{- range $name, $_ := .root.Values.workers }}
      - {{ include "rollcall.workerComponent" $name }}
      {{- end }}
{{- end -}}

{{/* The worker Deployments, one per pool: (dict "pool" "values" (its worker settings over worker's) "settings" (its pool entry)). */}}
{{- define "rollcall.workerDeployments" -}}
{{- $deployments := list (dict "pool" "default" "values" .Values.worker "settings" (dict "maxWorkers" .Values.controlPlane.maxWorkers "partitions" .Values.controlPlane.partitions "targetLoadPerWorker" .Values.controlPlane.targetLoadPerWorker)) -}}
{{- range $name, $pool := .Values.workers -}}
{{- $values := merge (deepCopy $pool) (deepCopy $.Values.worker) -}}
{{- /* merge takes worker's value over a pool's false or 0: a pool's own autoscaling.enabled wins. */ -}}
{{- if hasKey ($pool.autoscaling | default dict) "enabled" -}}
{{- $_ := set $values.autoscaling "enabled" $pool.autoscaling.enabled -}}
{{- end -}}
{{- /* ... and a pool's own kafka.brokers, "" included: that pool consumes no Kafka. */ -}}
{{- if hasKey ($pool.kafka | default dict) "brokers" -}}
{{- $_ := set $values.kafka "brokers" $pool.kafka.brokers -}}
{{- end -}}
{{- $settings := dict "targetLoadPerWorker" $pool.targetLoadPerWorker -}}
{{- $_ := set $settings "partitions" (ternary $pool.partitions $.Values.controlPlane.partitions (hasKey $pool "partitions")) -}}
{{- $_ := set $settings "maxWorkers" (ternary $pool.maxWorkers $.Values.controlPlane.maxWorkers (hasKey $pool "maxWorkers")) -}}
{{- $deployments = append $deployments (dict "pool" $name "values" $values "settings" $settings) -}}
{{- end -}}
{{- toJson $deployments -}}
{{- end -}}

{{/* "true" when any worker Deployment autoscales with KEDA, else empty. */}}
{{- define "rollcall.autoscaled" -}}
{{- range (include "rollcall.workerDeployments" . | fromJsonArray) -}}
{{- if (.values.autoscaling | default dict).enabled -}}true{{- end -}}
{{- end -}}
{{- end -}}
