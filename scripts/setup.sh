#!/usr/bin/env bash
# Everything thanos-ts needs on a fresh Debian machine with Node.js 20: the Prometheus
# tools the tests run against (Debian's prometheus and prometheus-alertmanager
# packages), pnpm, the workspace's packages, and a build. Safe to run again.
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
# `pnpm bench receive` measures ingestion beside it.
if ! have promtool || ! have prometheus || ! have prometheus-alertmanager || ! have openssl || ! have victoria-metrics; then
  echo "setup: installing prometheus, prometheus-alertmanager, victoria-metrics and openssl (Debian packages)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager victoria-metrics openssl >/dev/null
  # The packages start system services where systemd runs; tests start their own.
  $SUDO systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter victoria-metrics >/dev/null 2>&1 || true
fi

if ! have pnpm; then
  echo "setup: installing pnpm"
  npm install -g pnpm@9.15.9 --no-fund --no-audit --no-update-notifier --loglevel=error >/dev/null
fi

pnpm install --frozen-lockfile --reporter=append-only
pnpm build
