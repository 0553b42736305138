#!/usr/bin/env bash
# Real third-party senders the drop-in endpoint tests drive: Debian's apprise (json:// and form://),
# prometheus-alertmanager (its webhook receiver pointed at the gateway) and curl (`curl -d`).
# Installs them when missing and apt is usable.
set -euo pipefail
need=()
command -v apprise >/dev/null || need+=(apprise)
[ -x /usr/bin/prometheus-alertmanager ] || need+=(prometheus-alertmanager)
command -v curl >/dev/null || need+=(curl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ensure-tools: missing ${need[*]} and cannot install it (needs root and apt-get); the tests that use it will be skipped" >&2
  exit 0
fi
echo "ensure-tools: installing ${need[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
