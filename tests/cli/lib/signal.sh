# signal.sh — sourced by CLI tests (not a test itself).
# term_when_temp PATTERN PID: once a file of $WORK matches PATTERN (grep -E;
# a program's temporary: its outputs are open), sends SIGTERM to PID and
# waits for it; its exit status (143 when the signal ended it) is left in
# $term_rc.  Call it in the test's own shell (wait needs the child).
term_when_temp() {
    local pattern=$1 pid=$2 i
    for i in $(seq 1 200); do
        ls "$WORK" | grep -Eq "$pattern" && break
        sleep 0.05
    done
    kill -TERM "$pid" 2> /dev/null
    wait "$pid"
    term_rc=$?
}
