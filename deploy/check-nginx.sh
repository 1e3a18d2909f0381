#!/usr/bin/env bash
# Validates deploy/nginx.conf with nginx itself (`nginx -t`). The upstreams are compose service
# names (app1, app2) that resolve only inside compose, so the check points them at loopback.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e 's/server app1:8080/server 127.0.0.1:8080/' -e 's/server app2:8080/server 127.0.0.1:8081/' \
  "$root/deploy/nginx.conf" > "$work/nginx.conf"
mkdir -p "$work/logs"
nginx -t -q -p "$work" -c "$work/nginx.conf" -g "error_log $work/logs/error.log; pid $work/nginx.pid;"
echo "deploy/nginx.conf: nginx -t passed"
