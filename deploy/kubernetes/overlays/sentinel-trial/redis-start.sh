#!/bin/sh
# Starts one Redis of the trial set: a replica of the master the sentinels name, or (first start of
# pod 0, no sentinel answering yet) the initial master. Config goes to an emptyDir: the root is read-only.
set -eu
me="$(hostname).leash-redis"
master=""
for s in leash-redis-0 leash-redis-1 leash-redis-2; do
  master="$(redis-cli -h "$s.leash-redis" -p 26379 --raw sentinel get-master-addr-by-name leash 2>/dev/null | head -n 1 || true)"
  [ -n "$master" ] && break
done
cp /etc/leash-redis/redis.conf /conf/redis.conf
echo "replica-announce-ip $me" >> /conf/redis.conf
if [ -n "$master" ] && [ "$master" != "$me" ]; then
  echo "replicaof $master 6379" >> /conf/redis.conf
elif [ -z "$master" ] && [ "$(hostname)" != "leash-redis-0" ]; then
  echo "replicaof leash-redis-0.leash-redis 6379" >> /conf/redis.conf
fi
exec redis-server /conf/redis.conf
