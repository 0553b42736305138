#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (playwright-core cannot download its own browser here).
# Installs it, with a CJK font so Chinese renders in screenshots, when missing and apt is usable.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk' || need+=(fonts-wqy-zenhei)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ensure-browser: missing ${need[*]} and cannot install it (needs root and apt-get); browser tests will be skipped outside CI" >&2
  exit 0
fi
echo "ensure-browser: installing ${need[*]} from Debian" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
