#!/usr/bin/env bash
# Replays deploy/Dockerfile's dependency stages on a clean copy of the repository, for machines
# without a container engine: the "manifests" stage (only Cargo.toml, Cargo.lock and
# rust-toolchain.toml kept), the stub targets, and `cargo fetch --locked`. The compile stage
# is `cargo build --release --locked --bin wangju`, which the README's run command proves.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# manifests: COPY . . then delete everything but the manifests (as the Dockerfile does).
git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$work")
cd "$work"
find . -type f ! -name Cargo.toml ! -name Cargo.lock ! -name rust-toolchain.toml ! -path "./.cargo/*" -delete
find . -type d -empty -delete

# build, dependency layer: the same stub loop and fetch.
: > /tmp/stubs.$$
find . -name Cargo.toml | while read -r manifest; do
  dir=$(dirname "$manifest")
  if [ ! -e "$dir/src/lib.rs" ]; then
    mkdir -p "$dir/src" && : > "$dir/src/lib.rs" && echo "$dir/src/lib.rs" >> /tmp/stubs.$$
  fi
done
cargo fetch --locked
xargs -r rm -f < /tmp/stubs.$$
rm -f /tmp/stubs.$$
echo "Dockerfile dependency stages replayed: cargo fetch --locked passed on the manifests alone"
