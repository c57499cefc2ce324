#!/usr/bin/env bash
# Install the node test peers (web-push-testing) into tests/peers/node/node_modules.
# Idempotent: runs `npm ci` only when node_modules is missing or the lockfile changed.
set -euo pipefail

for tool in node npm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "tests/peers/install.sh: '$tool' not found on PATH; install Node.js >= 20 (e.g. apt-get install -y nodejs npm)" >&2
		exit 1
	fi
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_dir="$here/node"
stamp="$node_dir/node_modules/.study-notifier-peers.stamp"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
	echo "tests/peers/install.sh: node $(node --version) is too old; web-push-testing needs >= 20" >&2
	exit 1
fi

# The stamp records what was installed: the lockfile's hash and the node major version.
want="$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1) node$node_major"
if [ -d "$node_dir/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	echo "tests/peers: node peers up to date"
	exit 0
fi

echo "tests/peers: installing node peers (npm ci)"
(cd "$node_dir" && npm ci --no-audit --no-fund)
# Write the stamp last, so an interrupted install is retried next time.
printf '%s\n' "$want" >"$stamp"
