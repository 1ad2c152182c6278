#!/usr/bin/env bash
# Everything thanos-ts needs on a fresh Debian machine with Node.js 20: the Prometheus
# tools the tests run against (Debian's prometheus and prometheus-alertmanager
# packages), pnpm, the workspace's packages, and a build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
SUDO=""
if [ "$(id -u)" != 0 ] && have sudo; then SUDO=sudo; fi

if ! have promtool || ! have prometheus || ! have prometheus-alertmanager; then
  echo "setup: installing prometheus and prometheus-alertmanager (Debian packages)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null
  # The packages start system services where systemd runs; tests start their own.
  $SUDO systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter >/dev/null 2>&1 || true
fi

if ! have pnpm; then
  echo "setup: installing pnpm"
  npm install -g pnpm@9.15.9 >/dev/null
fi

pnpm install --frozen-lockfile --reporter=append-only
pnpm build
