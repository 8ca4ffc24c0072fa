# Sourced by the check scripts (needs `target` and Node): `start_server [sandbox]` starts the
# built binary on a free port of 127.0.0.1 with a throw-away data directory and sets
# `server_pid`, `port`, `base`, `data_dir` and `admin_password`; the EXIT trap stops it and
# removes the directory and every path in `cleanup`. `wait_for_sandbox` waits for the sandbox's
# guide, which it prints once ready. Only 127.0.0.1 is ever contacted.
cleanup=()

start_server() {
    data_dir="$(mktemp -d)"
    port="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
    base="http://127.0.0.1:$port"
    admin_password="check-admin-$RANDOM$RANDOM"
    BRIDGE_DATA_DIR="$data_dir" \
        BRIDGE_BIND="127.0.0.1:$port" \
        BRIDGE_ADMIN_PASSWORD="$admin_password" \
        BRIDGE_OUTBOUND_ALLOW="127.0.0.1/32" \
        BRIDGE_SCHEDULER=off \
        RUST_LOG=warn \
        "$target/debug/kaspersky-msp-bridge" "$@" > "$data_dir/server.log" 2>&1 &
    server_pid=$!
    trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$data_dir" "${cleanup[@]}"' EXIT
}

wait_for_sandbox() {
    for _ in $(seq 1 600); do
        grep -q "curl -s -u" "$data_dir/server.log" && return 0
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$data_dir/server.log" >&2
    echo "the sandbox did not start" >&2
    return 1
}
