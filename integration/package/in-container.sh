#!/usr/bin/env bash
# Runs in a clean Debian container (integration/package/test.sh): the cage package installed,
# used, upgraded over itself, removed and purged as a site would, each step checked.
# Usage: in-container.sh CAGE.deb UPGRADE.deb (as root; no network needed)
set -euo pipefail
deb=$1 upgrade=$2
passed=0 failed=0
check() {
  local what=$1; shift
  if "$@" >/tmp/check.out 2>&1; then
    passed=$((passed + 1)); echo "ok: $what"
  else
    failed=$((failed + 1)); echo "FAILED: $what"; sed 's/^/    /' /tmp/check.out
  fi
}
mode() { [ "$(stat -c '%a %U %G' "$1")" = "$2" ]; }
absent() { ! [ -e "$1" ]; }
shells_once() { [ "$(grep -cx /usr/bin/cage /etc/shells)" = 1 ]; }
man_page() { MANWIDTH=200 man -P cat "$1" 2>/dev/null | grep -q "$2"; }

echo "== install"
check "dpkg -i installs the package" dpkg -i "$deb"
check "cage is setuid root" mode /usr/bin/cage "4755 root root"
check "cage --version" /usr/bin/cage --version
check "cagectl in /usr/sbin" /usr/sbin/cagectl --version
check "the notifier in /usr/lib/cage" test -x /usr/lib/cage/cage-notify
for applet in sudols sudocat sudotail sudohead sudocp sudovi sudorm; do
  check "$applet links to cage" test "$(readlink /usr/bin/$applet)" = cage
done
check "the groups cage and cage-approvers" getent group cage cage-approvers
for dir in /etc/cage/grants /etc/cage/requests /etc/cage/users /var/log/cage /var/spool/cage \
           /var/spool/cage/notify; do
  check "$dir is root's, 0700" mode "$dir" "700 root root"
done
check "/etc/cage/keys is root's, 0755" mode /etc/cage/keys "755 root root"
check "cage is in /etc/shells once" shells_once
check "the sshd snippet" grep -q '^Match Group cage' /etc/ssh/sshd_config.d/cage.conf
check "sshd accepts the configuration" bash -c 'mkdir -p /run/sshd && ssh-keygen -A >/dev/null && sshd -t'
check "the timers are enabled" test -L /etc/systemd/system/timers.target.wants/cage-reap.timer \
  -a -L /etc/systemd/system/timers.target.wants/cage-audit-rotate.timer
check "the units name /usr/sbin/cagectl" grep -q 'ExecStart=/usr/sbin/cagectl reap' /lib/systemd/system/cage-reap.service
check "cagectl check passes on the shipped files" cagectl check
check "man cage" man_page cage "restricted login shell"
check "man cagectl" man_page cagectl "cagectl check"
check "man cage.toml" man_page cage.toml "host settings of cage"
check "man cage-policy" man_page cage-policy "action profiles"
check "man sudocat (cage's page)" man_page sudocat "File commands"
check "cagectl's bash completion" grep -q 'complete -F _cagectl' /usr/share/bash-completion/completions/cagectl
check "cagectl's zsh completion" grep -q '^#compdef cagectl' /usr/share/zsh/vendor-completions/_cagectl
check "cagectl's fish completion" grep -q '^complete -c cagectl' /usr/share/fish/vendor_completions.d/cagectl.fish

echo "== use"
useradd --create-home --shell /usr/bin/cage --groups cage op
check "cagectl grant writes a grant" cagectl grant --login op --actions INFRA_DIAG --duration 1h --req REQ-PKG
check "cagectl grant --create-user makes a temporary user" \
  cagectl grant --login optemp --actions INFRA_DIAG --duration 1h --req REQ-TEMP --create-user
check "whose shell is /usr/bin/cage" test "$(getent passwd optemp | cut -d: -f7)" = /usr/bin/cage
check "the trail verifies" cagectl audit verify
check "cage-verify-trail agrees" cage-verify-trail /var/log/cage/audit.jsonl
echo 'hostname = "pkgtest"' >> /etc/cage/cage.toml

echo "== upgrade over itself"
check "dpkg -i the next version" dpkg -i "$upgrade"
check "a newer version is installed" test "$(dpkg-query -W -f '${Version}' cage)" != "$(dpkg-deb -f "$deb" Version)"
check "cage is still setuid root" mode /usr/bin/cage "4755 root root"
check "cage.toml keeps the site's change" grep -qx 'hostname = "pkgtest"' /etc/cage/cage.toml
check "the grant is kept" test -f /etc/cage/grants/op.toml
check "the trail still verifies" cagectl audit verify
check "cage is still in /etc/shells once" shells_once

echo "== remove"
check "dpkg -r removes the package" dpkg -r cage
check "cage is gone" absent /usr/bin/cage
check "cagectl is gone" absent /usr/sbin/cagectl
check "its bash completion is gone" absent /usr/share/bash-completion/completions/cagectl
check "cage left /etc/shells" bash -c '! grep -q cage /etc/shells'
check "the audit trail stays" test -s /var/log/cage/audit.jsonl
check "the grant stays" test -f /etc/cage/grants/op.toml
check "cage.toml stays" test -f /etc/cage/cage.toml

echo "== purge"
dpkg -P cage >/tmp/purge.out 2>&1 || true
sed 's/^/    /' /tmp/purge.out
check "purge says it deletes the trail" grep -q 'deleting /var/log/cage' /tmp/purge.out
check "purge says it deletes /etc/cage" grep -q 'deleting /etc/cage' /tmp/purge.out
check "the package is gone" bash -c '! dpkg-query -W cage 2>/dev/null'
for path in /etc/cage /var/log/cage /var/spool/cage /etc/ssh/sshd_config.d/cage.conf /etc/cron.d/cage; do
  check "$path is gone" absent "$path"
done
check "the group cage stays" getent group cage
check "purge names the temporary users it keeps" grep -q 'kept the temporary users optemp' /tmp/purge.out

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
