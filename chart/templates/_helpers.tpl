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
{{- else }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default (include "rollcall.secretName" .) .Values.redis.auth.existingSecret }}
      key: {{ .Values.redis.auth.existingSecretKey }}
- name: REDIS_URL
  value: "redis://:$(REDIS_PASSWORD)@{{ include "rollcall.component" (dict "root" . "component" "redis") }}:6379"
{{- end }}
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
{{- if and (not .Values.redis.external.url) (not .Values.redis.external.existingSecret) }}true{{ end -}}
{{- end -}}

{{- define "rollcall.deployPostgresql" -}}
{{- if and (not .Values.postgresql.external.url) (not .Values.postgresql.external.existingSecret) }}true{{ end -}}
{{- end -}}
