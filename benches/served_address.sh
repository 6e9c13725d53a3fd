# Sourced by the bench scripts. `served_address LOG`: the address a `dsmrd serve --listen
# 127.0.0.1:0` that writes its stderr to LOG says it took, once it says it (within 10 s);
# prints LOG and fails when it does not.
served_address() {
    local addr=
    for _ in $(seq 100); do
        addr=$(sed -n 's/^dsmrd: serving .* on \(127\.0\.0\.1:[0-9]*\)$/\1/p' "$1")
        if [ -n "$addr" ]; then
            echo "$addr"
            return 0
        fi
        sleep 0.1
    done
    cat "$1" >&2
    return 1
}
