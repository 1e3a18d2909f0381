#!/usr/bin/env bash
# Validates deploy/compose.yaml with compose itself (`docker compose config`, or the standalone
# `docker-compose config` where the plugin is missing); neither needs a running engine.
# Two runs: with every required variable set the model must resolve; with them unset it must
# be refused, so a half-filled .env can never start the stack.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null; then
  compose=(docker-compose)
else
  echo "check-compose: neither 'docker compose' nor 'docker-compose' is installed" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/deploy/compose.yaml" "$work/compose.yaml"
cp "$root/deploy/nginx.conf" "$work/nginx.conf"
# Every ${VAR:?} the file names, filled with a placeholder.
grep -oE '\$\{[A-Z_0-9]+:\?' "$work/compose.yaml" | sort -u | sed -E 's/^\$\{([A-Z_0-9]+):\?$/\1=check-compose-value/' \
  > "$work/.env"
(cd "$work" && env -i PATH="$PATH" HOME="$HOME" "${compose[@]}" -f compose.yaml config -q)
: > "$work/.env"
if (cd "$work" && env -i PATH="$PATH" HOME="$HOME" "${compose[@]}" -f compose.yaml config -q) 2>"$work/err"; then
  echo "check-compose: compose.yaml was accepted without its required variables" >&2
  exit 1
fi
grep -q 'set .* in deploy/.env' "$work/err" || { cat "$work/err" >&2; exit 1; }
echo "deploy/compose.yaml: ${compose[*]} config passed (and refuses a missing .env value)"
