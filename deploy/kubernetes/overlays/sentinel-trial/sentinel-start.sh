#!/bin/sh
# Starts the sentinel of one trial Redis pod. Sentinel rewrites its config file, so it lives in an emptyDir.
set -eu
me="$(hostname).leash-redis"
# After a failover the master is no longer pod 0: ask the other sentinels first.
master=""
for s in leash-redis-0 leash-redis-1 leash-redis-2; do
  [ "$s" = "$(hostname)" ] && continue
  master="$(redis-cli -h "$s.leash-redis" -p 26379 --raw sentinel get-master-addr-by-name leash 2>/dev/null | head -n 1 || true)"
  [ -n "$master" ] && break
done
[ -n "$master" ] || master=leash-redis-0.leash-redis
cat > /conf/sentinel.conf <<CONF
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $me
sentinel monitor leash $master 6379 2
sentinel down-after-milliseconds leash 5000
sentinel failover-timeout leash 20000
sentinel parallel-syncs leash 1
CONF
exec redis-sentinel /conf/sentinel.conf
