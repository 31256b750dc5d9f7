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

{{- define "rollcall.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .name (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

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

{{/* Environment: the API token, and the Redis and Postgres URLs with their passwords. */}}
{{- define "rollcall.authEnv" -}}
- name: AUTH_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ default (include "rollcall.secretName" .) .Values.auth.existingSecret }}
      key: {{ .Values.auth.existingSecretKey }}
{{- end -}}

{{- define "rollcall.redisEnv" -}}
{{- if .Values.redis.external.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.existingSecret }}
      key: {{ .Values.redis.external.existingSecretKey }}
{{- else if .Values.redis.external.url }}
- name: REDIS_URL
  value: {{ .Values.redis.external.url | quote }}
{{- else if .Values.redis.external.sentinels }}
{{- /* External Sentinels without a URL: a Redis without a password, database 0. */}}
{{- else }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default (include "rollcall.secretName" .) .Values.redis.auth.existingSecret }}
      key: {{ .Values.redis.auth.existingSecretKey }}
- name: REDIS_URL
  {{- /* With Sentinels only the password counts: the primary is whichever they name. */}}
  value: "redis://:$(REDIS_PASSWORD)@{{ include "rollcall.component" (dict "root" . "component" "redis") }}{{ if include "rollcall.redisSentinel" . }}-headless{{ end }}:6379"
{{- end }}
{{- if .Values.redis.external.sentinels }}
- name: REDIS_SENTINELS
  value: {{ .Values.redis.external.sentinels | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.external.masterName | quote }}
{{- with .Values.redis.external.sentinelExistingSecret }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.redis.external.sentinelExistingSecretKey }}
{{- end }}
{{- else if include "rollcall.redisSentinel" . }}
{{- /* The chart's Sentinels share the nodes' password; REDIS_URL above then gives only that password. */}}
- name: REDIS_SENTINELS
  value: {{ include "rollcall.redisSentinelList" . | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.sentinel.masterName | quote }}
- name: REDIS_SENTINEL_PASSWORD
  value: "$(REDIS_PASSWORD)"
{{- end }}
{{- if or .Values.redis.external.sentinels (include "rollcall.redisSentinel" .) }}
- name: REDIS_MIN_REPLICAS
  value: {{ .Values.redis.sentinel.minReplicas | quote }}
- name: REDIS_REPLICATION_TIMEOUT
  value: {{ .Values.redis.sentinel.replicationTimeout | quote }}
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
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgresql.external.existingSecret }}
      key: {{ .Values.postgresql.external.existingSecretKey }}
{{- else if .Values.postgresql.external.url }}
- name: DATABASE_URL
  value: {{ .Values.postgresql.external.url | quote }}
{{- else }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default (include "rollcall.secretName" .) .Values.postgresql.auth.existingSecret }}
      key: {{ .Values.postgresql.auth.existingSecretKey }}
- name: DATABASE_URL
  value: "postgres://{{ .Values.postgresql.username }}:$(POSTGRES_PASSWORD)@{{ include "rollcall.component" (dict "root" . "component" "postgresql") }}:5432/{{ .Values.postgresql.database }}"
{{- end }}
{{- end -}}

{{- define "rollcall.deployRedis" -}}
{{- if not (or .Values.redis.external.url .Values.redis.external.existingSecret .Values.redis.external.sentinels) }}true{{ end -}}
{{- end -}}

{{- define "rollcall.deployPostgresql" -}}
{{- if and (not .Values.postgresql.external.url) (not .Values.postgresql.external.existingSecret) }}true{{ end -}}
{{- end -}}
