#!/bin/sh
# The container's init: cgroup v2 for cage's egress filter (the container does not mount it),
# the SIEM stand-in and the host's rsyslog (cage's records go to /dev/log), then sshd.
mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none /sys/fs/cgroup/unified
rsyslogd -f /etc/rsyslog-siem.conf -i /run/rsyslog-siem.pid
rsyslogd
exec /usr/sbin/sshd -D -e
