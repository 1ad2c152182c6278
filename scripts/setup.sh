#!/usr/bin/env bash
# Everything thanos-ts needs on a fresh Debian machine with Node.js 20 or later: the
# Prometheus tools the tests run against (Debian's prometheus and prometheus-alertmanager
# packages), pnpm, the workspace's packages (with the Node.js 24 LTS the workspace runs
# on, where it fits the machine), and a build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

# Node.js 20 or later (package.json "engines"; README "Development" says why the AWS SDK
# is pinned for Node 20).
if ! have node || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js 20 or later is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ] && have sudo; then SUDO=sudo; fi

# openssl: the TLS tests make their own CA and certificates with it. victoria-metrics:
# `pnpm bench receive` measures ingestion beside it. memcached: the caches' tests and the
# query-frontend's. chromium: the web UI's tests drive it headless. golang-go and Sprig:
# the Helm chart is rendered with Go's text/template and Sprig, as Helm renders it.
# golang-golang-x-net-dev: the gRPC server's interop test builds a client on Go's HTTP/2.
# docker-compose: validates docker/compose.yaml (no container runtime is needed).
DEBS="prometheus prometheus-alertmanager victoria-metrics openssl memcached chromium golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev golang-golang-x-net-dev docker-compose"
if ! have promtool || ! have prometheus || ! have prometheus-alertmanager || ! have openssl || ! have victoria-metrics \
  || ! have memcached || ! have chromium || ! have go || ! have docker-compose || [ ! -d /usr/share/gocode/src/github.com/Masterminds/sprig ] || [ ! -d /usr/share/gocode/src/gopkg.in/yaml.v3 ] \
  || [ ! -d /usr/share/gocode/src/golang.org/x/net/http2 ]; then
  echo "setup: installing Debian packages: $DEBS"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $DEBS >/dev/null
  # The packages start system services where systemd runs; tests start their own.
  $SUDO systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics memcached >/dev/null 2>&1 || true
fi

if ! have pnpm; then
  echo "setup: installing pnpm"
  npm install -g pnpm@9.15.9 --no-fund --no-audit --no-update-notifier --loglevel=error >/dev/null
fi

pnpm install --frozen-lockfile --reporter=append-only
echo "setup: the workspace runs on Node.js $(pnpm -s exec node -p process.version) (README \"Development\")"
pnpm build
