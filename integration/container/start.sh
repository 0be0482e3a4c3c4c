#!/bin/sh
# The container's init: cgroups for cage (egress filter, session cgroups and their limits),
# the SIEM stand-in and the host's rsyslog (cage's records go to /dev/log), then sshd.
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
  # A cgroup v2 host: the container's own hierarchy, which docker mounts read-only. Its root
  # may hand memory and pids down to cage's cgroups only once it holds no process itself
  # ("no internal processes"): the container's own processes move to a leaf of their own.
  mount -o remount,rw /sys/fs/cgroup
  mkdir -p /sys/fs/cgroup/init
  for pid in $(cat /sys/fs/cgroup/cgroup.procs); do
    echo "$pid" > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  done
  for controller in memory pids; do
    echo "+$controller" > /sys/fs/cgroup/cgroup.subtree_control ||
      echo "start: the $controller controller is not available to cage" >&2
  done
else
  # A hybrid host (cgroup v1 controllers): cgroup v2 for the egress filter (the container
  # does not mount it), and the v1 hierarchies of the limits writable (docker mounts them
  # read-only).
  mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none /sys/fs/cgroup/unified
  for controller in memory pids; do
    [ -d /sys/fs/cgroup/$controller ] && mount -o remount,bind,rw /sys/fs/cgroup/$controller
  done
fi
rsyslogd -f /etc/rsyslog-siem.conf -i /run/rsyslog-siem.pid
rsyslogd
exec /usr/sbin/sshd -D -e
