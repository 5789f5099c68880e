#!/usr/bin/env bash
# The broker on Deno held to the same behaviour as on Bun (CI, after npm test):
#   1. deno check: the module graph as Deno sees it (tsc excludes src/runtime/deno/)
#   2. the store conformance suite and the SQLite adapter test on node:sqlite (deno test)
#   3. the protocol, differential (interop) and crash suites against `deno run -A src/main.ts`
#      (WARREN_RUNTIME=deno makes the test helpers start the broker as that process), and the
#      Deno runtime tests.
# Left out of 3: alarms and partial_bodies drive the in-process broker's memory accounting
# (b.broker.alarms) in every test; the few such tests elsewhere skip themselves.
# Extra arguments go to bun test (e.g. a single file).
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1
DENO=node_modules/.bin/deno

step() { printf '\n--- %s ---\n' "$*"; }

step "deno check src/main.ts"
"$DENO" task check

step "store conformance on node:sqlite (deno task test:store)"
"$DENO" task test:store

step "protocol, differential and crash suites against the broker on Deno"
if [ $# -gt 0 ]; then
  files=("$@")
else
  # Left out: suites that drive the broker in-process (alarms, partial bodies, the outbound
  # client's own tests, the delayed-message and MQTT interop checks, which read broker internals);
  # the client and MQTT over WebSocket on Deno are covered by tests/runtime/deno.test.ts.
  mapfile -t files < <(ls tests/protocol/*.test.ts | grep -v -e '/alarms\.test\.ts$' -e '/partial_bodies\.test\.ts$' -e '/client\.test\.ts$')
  mapfile -t -O "${#files[@]}" files < <(ls tests/interop/*.test.ts | grep -v -e '/delayed_message\.test\.ts$' -e '/mqtt\.test\.ts$')
  files+=(tests/crash tests/runtime)
fi
WARREN_RUNTIME=deno node_modules/.bin/bun test --timeout 30000 "${files[@]}"
