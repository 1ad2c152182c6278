{{/* Names, labels and the pieces every component's template shares. */}}

{{- define "thanos-ts.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's prefix for every object: <release>-thanos-ts unless the release name has it. */}}
{{- define "thanos-ts.fullname" -}}
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

{{/* A component's object name: (dict "root" $ "component" "store"). */}}
{{- define "thanos-ts.componentName" -}}
{{- printf "%s-%s" (include "thanos-ts.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "thanos-ts.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "thanos-ts.selectorLabels" -}}
app.kubernetes.io/name: {{ include "thanos-ts.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "thanos-ts.labels" -}}
helm.sh/chart: {{ include "thanos-ts.chart" .root }}
{{ include "thanos-ts.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: thanos-ts
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "thanos-ts.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The cluster's DNS suffix for a Service: <svc>.<namespace>.svc.<clusterDomain>. */}}
{{- define "thanos-ts.svcHost" -}}
{{- printf "%s.%s.svc.%s" .name .root.Release.Namespace .root.Values.clusterDomain -}}
{{- end -}}

{{- define "thanos-ts.objstoreSecretName" -}}
{{- if .Values.objstore.existingSecret.name -}}
{{- .Values.objstore.existingSecret.name -}}
{{- else -}}
{{- printf "%s-objstore" (include "thanos-ts.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "thanos-ts.objstoreKey" -}}
{{- default "objstore.yml" .Values.objstore.existingSecret.key -}}
{{- end -}}

{{/* Flags every thanos-ts container takes. */}}
{{- define "thanos-ts.commonArgs" -}}
- --log.level={{ .Values.logLevel }}
- --log.format={{ .Values.logFormat }}
{{- end -}}

{{/* Pod-level settings shared by every component: (dict "root" $ "values" .Values.store). */}}
{{- define "thanos-ts.podSpecCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- with .root.Values.podSecurityContext }}
securityContext:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
{{ toYaml . }}
{{- end }}
{{- with .values.affinity }}
affinity:
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{/* Container-level settings shared by every component. */}}
{{- define "thanos-ts.containerCommon" -}}
image: {{ include "thanos-ts.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
{{- with .root.Values.containerSecurityContext }}
securityContext:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .values.resources }}
resources:
{{ toYaml . | indent 2 }}
{{- end }}
livenessProbe:
  httpGet:
    path: /-/healthy
    port: http
  periodSeconds: 30
  failureThreshold: 4
readinessProbe:
  httpGet:
    path: /-/ready
    port: http
  periodSeconds: 5
  failureThreshold: 3
{{- end -}}

{{/* The objstore.yml Secret as a volume. */}}
{{- define "thanos-ts.objstoreVolume" -}}
- name: objstore
  secret:
    secretName: {{ include "thanos-ts.objstoreSecretName" . }}
{{- end -}}

{{- define "thanos-ts.objstoreMount" -}}
- name: objstore
  mountPath: /etc/thanos-ts/objstore
  readOnly: true
{{- end -}}

{{- define "thanos-ts.objstoreArg" -}}
- --objstore.config-file=/etc/thanos-ts/objstore/{{ include "thanos-ts.objstoreKey" . }}
{{- end -}}

{{/* A StatefulSet's data volume: a PVC template, or an emptyDir when persistence is off. */}}
{{- define "thanos-ts.dataVolumeClaim" -}}
{{- if .values.persistence.enabled }}
volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes:
{{ toYaml .values.persistence.accessModes | indent 8 }}
      {{- with .values.persistence.storageClass }}
      storageClassName: {{ . | quote }}
      {{- end }}
      resources:
        requests:
          storage: {{ .values.persistence.size }}
{{- end }}
{{- end -}}

{{- define "thanos-ts.dataVolume" -}}
{{- if not .values.persistence.enabled }}
- name: data
  emptyDir: {}
{{- end }}
{{- end -}}

{{/* A PodDisruptionBudget for a component: (dict "root" $ "component" "store" "values" .Values.store). */}}
{{- define "thanos-ts.pdb" -}}
{{- if .values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "thanos-ts.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
{{ include "thanos-ts.labels" . | indent 4 }}
spec:
  {{- if .values.podDisruptionBudget.minAvailable }}
  minAvailable: {{ .values.podDisruptionBudget.minAvailable }}
  {{- else }}
  maxUnavailable: {{ .values.podDisruptionBudget.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
{{ include "thanos-ts.selectorLabels" . | indent 6 }}
{{- end }}
{{- end -}}

{{/* A ServiceMonitor scraping a component's http port (Prometheus Operator). */}}
{{- define "thanos-ts.serviceMonitor" -}}
{{- if .root.Values.serviceMonitor.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "thanos-ts.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
{{ include "thanos-ts.labels" . | indent 4 }}
{{- with .root.Values.serviceMonitor.labels }}
{{ toYaml . | indent 4 }}
{{- end }}
spec:
  selector:
    matchLabels:
{{ include "thanos-ts.selectorLabels" . | indent 6 }}
      thanos-ts/service: main
  namespaceSelector:
    matchNames:
      - {{ .root.Release.Namespace }}
  endpoints:
    - port: http
      path: /metrics
      interval: {{ .root.Values.serviceMonitor.interval }}
      {{- with .root.Values.serviceMonitor.scrapeTimeout }}
      scrapeTimeout: {{ . }}
      {{- end }}
{{- end }}
{{- end -}}

{{/*
The query's --endpoint list: every enabled StoreAPI component by its headless Service's
SRV record (dnssrv+_grpc._tcp.…, as Thanos's own deployments do), then extraEndpoints.
*/}}
{{- define "thanos-ts.queryEndpoints" -}}
{{- $root := . -}}
{{- range $c := list "store" "receive" "rule" }}
{{- if (index $root.Values $c).enabled }}
- --endpoint=dnssrv+_grpc._tcp.{{ include "thanos-ts.svcHost" (dict "root" $root "name" (printf "%s-headless" (include "thanos-ts.componentName" (dict "root" $root "component" $c)))) }}
{{- end }}
{{- end }}
{{- range .Values.query.extraEndpoints }}
- --endpoint={{ . }}
{{- end }}
{{- end -}}

{{/*
A StoreAPI component's two Services: the main one (gRPC, HTTP and any extra ports) and
a headless one whose SRV records (_grpc._tcp) the query resolves with dnssrv+, and by
which StatefulSet pods reach each other. (dict "root" $ "component" "store" "extraPorts" list)
*/}}
{{- define "thanos-ts.services" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "thanos-ts.componentName" . }}
  namespace: {{ .root.Release.Namespace }}
  labels:
{{ include "thanos-ts.labels" . | indent 4 }}
    thanos-ts/service: main
spec:
  selector:
{{ include "thanos-ts.selectorLabels" . | indent 4 }}
  ports:
    - name: grpc
      port: 10901
      targetPort: grpc
    - name: http
      port: 10902
      targetPort: http
    {{- range .extraPorts }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
    {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "thanos-ts.componentName" . }}-headless
  namespace: {{ .root.Release.Namespace }}
  labels:
{{ include "thanos-ts.labels" . | indent 4 }}
    thanos-ts/service: headless
spec:
  clusterIP: None
  # Peers (the receive ring) must find each other before they are ready.
  publishNotReadyAddresses: true
  selector:
{{ include "thanos-ts.selectorLabels" . | indent 4 }}
  ports:
    - name: grpc
      port: 10901
      targetPort: grpc
    - name: http
      port: 10902
      targetPort: http
    {{- range .extraPorts }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
    {{- end }}
{{- end -}}
