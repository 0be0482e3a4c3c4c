#!/bin/sh
# Runs inside the image build: install cage from its Debian package as a site would (the
# package makes the groups cage and cage-approvers, the directories, the sshd snippet), an
# operator, fixtures.
set -eu
dpkg -i /build/cage.deb >/dev/null
sed -i 's/^layer = .*/layer = "cps"/' /etc/cage/cage.toml
install -m 0644 /build/repo/integration/sshd_config.d/cage-fleet.conf /etc/ssh/sshd_config.d/cage-fleet.conf
# The access lifecycle (docs/lifecycle.md): approvers, pre-approved actions, a short retention
# so the reap test sees removal. root approves in the other tests (it runs cagectl grant).
printf 'pre_approved = ["INFRA_DIAG"]\n[access]\napprover_group = "cage-approvers"\nretention = "4s"\n' >> /etc/cage/cage.toml
usermod -a -G cage-approvers root
useradd --no-create-home --groups cage-approvers alice
useradd --no-create-home mallory
# The fleet's user CA (made here, for this image only): sshd trusts its public half.
ssh-keygen -q -t ed25519 -N '' -C cage-user-ca -f /etc/cage/user_ca
cp /etc/cage/user_ca.pub /etc/ssh/cage_user_ca.pub
mkdir -p /run/sshd
ssh-keygen -A
useradd --create-home --shell /usr/bin/cage --groups cage op
# The key belongs to root and is not writable by the operator.
install -d -o root -g root -m 0755 /home/op/.ssh
install -o root -g root -m 0644 /build/operator.pub /home/op/.ssh/authorized_keys
install -o root -g root -m 0644 /build/operator.pub /etc/cage/keys/op
passwd -l op >/dev/null
# Fixtures the tests read.
printf 'Nov 22 10:00:01 cps01 exawatcher[812]: collection started\nNov 22 10:05:42 cps01 kernel: eth0: link up\n' > /var/log/messages
chmod 0600 /var/log/messages
install -d -m 1777 /u01
# The bundled profiles name Oracle Linux paths; Debian keeps tcpdump, lsof and arping in
# /usr/bin and tcptraceroute in /usr/sbin.
ln -s /usr/bin/tcpdump /usr/sbin/tcpdump
for tool in lsof arping tcptraceroute; do
  [ -e /usr/sbin/$tool ] || ln -s /usr/bin/$tool /usr/sbin/$tool
  [ -e /usr/bin/$tool ] || ln -s /usr/sbin/$tool /usr/bin/$tool
done
# Syslog: rsyslog takes cage's RFC 5424 records from /dev/log (the regular parser chain, no
# rate limit, cage's own timestamps) and forwards them over TLS to a second rsyslogd standing
# in for the SIEM (integration/rsyslog/). The keys are made here, for this image only.
sh /build/repo/integration/rsyslog/certs.sh /etc/rsyslog-tls
sed -i -e 's|^module(load="imuxsock").*|module(load="imuxsock" SysSock.UseSpecialParser="off" SysSock.ParseHostname="on" SysSock.IgnoreTimestamp="off" SysSock.RateLimit.Interval="0")|' \
  -e 's|^module(load="imklog"|#&|' /etc/rsyslog.conf
grep -q 'SysSock.UseSpecialParser="off"' /etc/rsyslog.conf
install -m 0644 /build/repo/integration/rsyslog/cage-siem.conf /etc/rsyslog.d/60-cage-siem.conf
install -m 0644 /build/repo/integration/rsyslog/siem-receiver.conf /etc/rsyslog-siem.conf
install -d -m 0700 /var/spool/rsyslog-siem /var/log/siem
# Notifications (docs/notifications.md): mail through the relay the notification test starts
# on port 2525 (STARTTLS with a CA the test makes, AUTH as `cage`), and an event hook that
# keeps every event it reads.
cat >> /etc/cage/cage.toml <<'TOML'
[notify]
smtp_host = "localhost"
smtp_port = 2525
from = "cage@cps1.cage.test"
approvers = ["approvers@cage.test"]
ca_file = "/etc/cage/smtp-ca.pem"
credentials_file = "/etc/cage/smtp-credentials"
event_hook = "/usr/local/sbin/cage-test-hook"
max_attempts = 3
TOML
printf 'username = "cage"\npassword = "notify-test-password"\n' > /etc/cage/smtp-credentials
chmod 0600 /etc/cage/smtp-credentials
printf '#!/bin/sh\ncat >> /var/log/cage-hook.jsonl\n' > /usr/local/sbin/cage-test-hook
chmod 0755 /usr/local/sbin/cage-test-hook
install -m 0755 /build/smtp-server.py /usr/local/sbin/cage-test-smtp
