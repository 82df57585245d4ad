#!/bin/bash
# selftest.sh -- runs inside the container that tests/systemd/units_test.py
# boots (as rh-selftest.service, root).  Follows deploy/systemd/README.md
# steps 3 to 10 with the units and files staged in /stage, checks what the
# units promise, writes PASS or "FAIL: why" to /stage/out/result, and
# powers the container off.
set -u
OUT=/stage/out
mkdir -p "$OUT"
exec >"$OUT/log" 2>&1
CONF=/etc/rolehook/rolehook.json

finish() {
	echo "$1" >"$OUT/result"
	echo "== $1"
	systemctl poweroff
	exit 0
}

fail() {
	echo "FAIL: $*"
	echo "---- journal: rolehook-serve, rolehook-work ----"
	journalctl -u rolehook-serve -u rolehook-work --no-pager | tail -40
	finish "FAIL: $*"
}

step() { echo "== $*"; }

# Every HTTP call is bounded: a hang fails the step, not the whole run.
curl() { command curl --max-time 10 "$@"; }

# sudo resolves the host name; the container has no DNS.
echo "127.0.1.1 $(hostname)" >>/etc/hosts

step "README 3: users, groups, directories"
groupadd --system rolehook || fail "groupadd"
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
	--gid rolehook --groups www-data rolehook-serve || fail "useradd rolehook-serve"
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
	--gid rolehook rolehook-work || fail "useradd rolehook-work"
install -d -o root -g rolehook -m 0750 /etc/rolehook || fail "install /etc/rolehook"
install -d -o rolehook-work -g rolehook -m 2770 /var/lib/rolehook || fail "install /var/lib/rolehook"

step "README 4: configuration (from the test, not the example)"
install -o root -g rolehook -m 0640 /stage/rolehook.json "$CONF" || fail "install config"

step "README 5: secrets"
install -o root -g root -m 0600 /stage/serve.env /etc/rolehook/serve.env || fail "serve.env"
install -o root -g root -m 0600 /stage/work.env /etc/rolehook/work.env || fail "work.env"

step "README 6: check the configuration as each service"
out=$(systemd-run --pipe --wait --quiet --uid=rolehook-serve --gid=rolehook \
	-p SupplementaryGroups=www-data -p EnvironmentFile=/etc/rolehook/serve.env \
	/usr/local/bin/rolehook check --config "$CONF" 2>&1)
echo "$out"
echo "$out" | grep -q "configuration is valid" || fail "check as rolehook-serve: $out"
out=$(systemd-run --pipe --wait --quiet --uid=rolehook-work --gid=rolehook \
	-p EnvironmentFile=/etc/rolehook/work.env \
	/usr/local/bin/rolehook check --no-secrets --config "$CONF" 2>&1)
echo "$out"
echo "$out" | grep -q "configuration is valid" || fail "check as rolehook-work: $out"

step "the fake Zendesk on 127.0.0.1 (stands in for https://SUBDOMAIN.zendesk.com)"
# shellcheck disable=SC2046
python3 /stage/fake_zendesk.py $(cat /stage/zd.args) >"$OUT/fake_zendesk.log" 2>&1 &
for _ in $(seq 100); do
	curl -sf http://127.0.0.1:8444/__fake/state >/dev/null && break
	sleep 0.1
done
curl -sf http://127.0.0.1:8444/__fake/state >/dev/null || fail "fake Zendesk did not start"

step "README 7 (plain HTTP on loopback instead of TLS): the shipped nginx snippet"
cat >/etc/nginx/sites-available/rolehook <<'EOF'
server {
    listen 127.0.0.1:8080;
    server_name localhost;
    include /usr/local/share/rolehook/nginx/rolehook.conf;
    location / { return 404; }
}
EOF
ln -s /etc/nginx/sites-available/rolehook /etc/nginx/sites-enabled/rolehook
rm -f /etc/nginx/sites-enabled/default
nginx -t || fail "nginx -t"
systemctl restart nginx || fail "nginx restart"

step "README 8: start the services"
install -m 0644 /stage/units/rolehook-serve.service /stage/units/rolehook-work.service \
	/etc/systemd/system/ || fail "install the units"
systemctl daemon-reload
systemctl enable --now rolehook-work.service rolehook-serve.service || fail "enable --now"
for _ in $(seq 100); do
	[ -S /run/rolehook/serve.sock ] && break
	sleep 0.1
done
systemctl status rolehook-serve rolehook-work --no-pager
# Both started at once; give a restart (RestartSec) a chance to show.
for u in rolehook-serve rolehook-work; do
	for _ in $(seq 100); do
		[ "$(systemctl is-active $u)" = active ] && break
		sleep 0.1
	done
	[ "$(systemctl is-active $u)" = active ] || fail "$u is not active"
	[ "$(systemctl show -p NRestarts --value $u)" = 0 ] ||
		fail "$u restarted: it failed at least once"
done
perm=$(stat -c '%A %U %G' /run/rolehook/serve.sock)
echo "socket: $perm"
[ "$perm" = "srwxrwx--- rolehook-serve www-data" ] || [ "$perm" = "srw-rw---- rolehook-serve www-data" ] ||
	fail "socket is $perm"
[ "$(stat -c '%U %G %a' /var/lib/rolehook)" = "rolehook-work rolehook 2770" ] ||
	fail "store directory is $(stat -c '%U %G %a' /var/lib/rolehook)"
health=$(curl -s http://127.0.0.1:8080/healthz)
echo "healthz: $health"
[ "$health" = '{"status":"ok","engine":"sqlite"}' ] || fail "healthz: $health"

step "the sandbox, as the kernel sees each main process"
for u in serve work; do
	pid=$(systemctl show -p MainPID --value rolehook-$u)
	[ "$pid" -gt 0 ] || fail "rolehook-$u has no main pid"
	st=/proc/$pid/status
	grep -E '^(Uid|Gid|Groups|NoNewPrivs|Seccomp|CapEff|CapBnd):' "$st"
	grep -q '^NoNewPrivs:[[:space:]]*1$' "$st" || fail "rolehook-$u: NoNewPrivs is not set"
	grep -q '^Seccomp:[[:space:]]*2$' "$st" || fail "rolehook-$u: no seccomp filter"
	grep -q '^CapEff:[[:space:]]*0000000000000000$' "$st" || fail "rolehook-$u has capabilities"
	grep -q '^CapBnd:[[:space:]]*0000000000000000$' "$st" || fail "rolehook-$u: bounding set not empty"
	[ "$(ps -o user= -p "$pid")" = "rolehook-$u" ] || fail "rolehook-$u runs as $(ps -o user= -p "$pid")"
	# ProtectSystem=strict: /etc and /usr are read-only in its namespace
	# (while root may write /etc outside it: the control).
	touch /etc/rolehook/probe || fail "control: root cannot write /etc"
	rm -f /etc/rolehook/probe
	if nsenter -t "$pid" -m touch /etc/rolehook/probe 2>/dev/null; then
		fail "rolehook-$u can write /etc"
	fi
	nsenter -t "$pid" -m touch /var/lib/rolehook/.probe-$u || fail "rolehook-$u cannot write its store"
	rm -f /var/lib/rolehook/.probe-$u
	# PrivateTmp: its /tmp is not the system's.
	nsenter -t "$pid" -m touch /tmp/rolehook-private-probe || fail "rolehook-$u has no /tmp"
	[ ! -e /tmp/rolehook-private-probe ] || fail "rolehook-$u shares the system /tmp"
done
step "limits and groups: no core dumps, serve's groups and network, memory and tasks"
for u in serve work; do
	pid=$(systemctl show -p MainPID --value rolehook-$u)
	lim=$(grep '^Max core file size' /proc/"$pid"/limits)
	echo "rolehook-$u: $lim"
	echo "$lim" | grep -Eq '^Max core file size +0 +0 ' || fail "rolehook-$u: core limit: $lim"
	# PR_SET_DUMPABLE 0: the kernel gives /proc/PID/environ to root
	# (the process runs as rolehook-$u).
	[ "$(stat -c %U /proc/"$pid"/environ)" = root ] ||
		fail "rolehook-$u is dumpable: /proc/$pid/environ is $(stat -c %U /proc/"$pid"/environ)'s"
	for p in LimitCORE MemoryMax TasksMax; do
		echo "rolehook-$u: $p=$(systemctl show -p $p --value rolehook-$u)"
	done
	[ "$(systemctl show -p LimitCORE --value rolehook-$u)" = 0 ] || fail "rolehook-$u: LimitCORE"
	mem=$(systemctl show -p MemoryMax --value rolehook-$u)
	tasks=$(systemctl show -p TasksMax --value rolehook-$u)
	[ "$mem" != infinity ] && [ "$mem" -gt 0 ] || fail "rolehook-$u: MemoryMax=$mem"
	[ "$tasks" != infinity ] && [ "$tasks" -gt 0 ] || fail "rolehook-$u: TasksMax=$tasks"
	threads=$(grep '^Threads:' /proc/"$pid"/status | awk '{print $2}')
	echo "rolehook-$u: $threads threads"
	[ "$threads" -lt "$tasks" ] || fail "rolehook-$u: $threads threads, TasksMax=$tasks"
	# The kernel's side, where the cgroup files are visible.
	cg=/sys/fs/cgroup$(cut -d: -f3 /proc/"$pid"/cgroup | head -1)
	if [ -r "$cg/memory.max" ]; then
		[ "$(cat "$cg/memory.max")" = "$mem" ] || fail "rolehook-$u: memory.max $(cat "$cg/memory.max")"
		[ "$(cat "$cg/pids.max")" = "$tasks" ] || fail "rolehook-$u: pids.max $(cat "$cg/pids.max")"
	fi
done
spid=$(systemctl show -p MainPID --value rolehook-serve)
[ "$(ps -o group= -p "$spid" | tr -d ' ')" = rolehook ] ||
	fail "rolehook-serve's primary group is $(ps -o group= -p "$spid")"
wwwgid=$(getent group www-data | cut -d: -f3)
grep -Eq "^Groups:.*\b$wwwgid\b" /proc/"$spid"/status || fail "rolehook-serve is not in www-data"
# PrivateNetwork=yes: serve has a network namespace of its own, work the
# host's; nginx reached the socket above all the same (healthz).
[ "$(readlink /proc/"$spid"/ns/net)" != "$(readlink /proc/1/ns/net)" ] ||
	fail "rolehook-serve shares the host's network namespace"
wpid=$(systemctl show -p MainPID --value rolehook-work)
[ "$(readlink /proc/"$wpid"/ns/net)" = "$(readlink /proc/1/ns/net)" ] ||
	fail "control: rolehook-work should share the host's network namespace"
ifs=$(tail -n +3 /proc/"$spid"/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')
echo "rolehook-serve's interfaces: $ifs"
[ "$ifs" = "lo " ] || fail "rolehook-serve's network namespace has: $ifs"
[ "$(stat -c '%U %G %a' /run/rolehook)" = "rolehook-serve rolehook 711" ] ||
	fail "/run/rolehook is $(stat -c '%U %G %a' /run/rolehook)"

tr '\0' '\n' </proc/"$(systemctl show -p MainPID --value rolehook-serve)"/environ | grep -q '^ZD_API_TOKEN=' &&
	fail "serve's environment holds the Zendesk token"
tr '\0' '\n' </proc/"$(systemctl show -p MainPID --value rolehook-work)"/environ | grep -q '^HR_SECRET=' &&
	fail "work's environment holds a webhook secret"
runuser -u rolehook-serve -- cat "$CONF" >/dev/null ||
	fail "control: rolehook-serve cannot read the configuration"
if runuser -u rolehook-serve -- cat /etc/rolehook/work.env >/dev/null 2>&1; then
	fail "rolehook-serve can read work.env"
fi

step "README 9: a signed test webhook (the README's openssl recipe)"
. /etc/rolehook/serve.env
BODY='{"id":"evt-install-1","type":"employee.hired","data":{"id":"E-1","work_email":"lee@example.com","department":"Support","job_title":"Associate Agent"}}'
ID=evt-install-1
TS=$(date +%s)
KEY=$(printf '%s' "${HR_SECRET#whsec_}" | base64 -d | od -An -tx1 -v | tr -d ' \n')
SIG=$(printf '%s.%s.%s' "$ID" "$TS" "$BODY" |
	openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64)
post() {
	curl -sS -o "$OUT/body" -w '%{http_code}' -X POST http://127.0.0.1:8080/hooks/hr \
		-H 'Content-Type: application/json' \
		-H "webhook-id: $ID" -H "webhook-timestamp: $TS" -H "webhook-signature: v1,$1" \
		--data-binary "$BODY"
}
code=$(post "$SIG")
echo "first: $code $(cat "$OUT/body")"
[ "$code" = 202 ] || fail "signed webhook: HTTP $code"
code=$(post "$SIG")
echo "again: $code $(cat "$OUT/body")"
[ "$code" = 200 ] || fail "repeated webhook: HTTP $code"
code=$(post "$(printf 'another message' | openssl dgst -sha256 -binary | base64)")
echo "bad signature: $code"
[ "$code" = 401 ] || fail "badly signed webhook: HTTP $code"

step "rolehook-work applies it to Zendesk; README 10: look at the events"
state=""
for _ in $(seq 150); do
	state=$(sudo -u rolehook-work rolehook events show 1 --config "$CONF" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
	[ "$state" = done ] && break
	sleep 0.2
done
[ "$state" = done ] || fail "event 1 is $state"
out=$(sudo -u rolehook-work rolehook events list --config "$CONF" --format table 2>&1)
echo "$out"
echo "$out" | grep -q "evt-install-1" || fail "events list: $out"
role=$(curl -s http://127.0.0.1:8444/__fake/state | python3 -c '
import json, sys
u = [u for u in json.load(sys.stdin)["users"] if u["email"] == "lee@example.com"]
print(u[0]["role"] + " " + str(u[0].get("custom_role_id")) if u else "")')
echo "Zendesk: lee@example.com is $role"
case "$role" in
agent\ [0-9]*) ;;
*) fail "lee@example.com in Zendesk: '$role' (want an agent with a custom role)" ;;
esac

step "stop: both services end cleanly"
systemctl stop rolehook-serve rolehook-work
for u in rolehook-serve rolehook-work; do
	res=$(systemctl show -p Result --value $u)
	echo "$u: $(systemctl is-active $u), result $res"
	[ "$res" = success ] || fail "$u stopped with result $res"
done
journalctl -u rolehook-serve --no-pager | grep -q "shutting down" || fail "serve did not log its shutdown"

finish PASS
