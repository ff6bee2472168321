#!/usr/bin/env bash
# CPU of the server process per request: wrk at $3 connections for $4 against
# $1 (pid $2); prints requests/s and µs of user and system CPU per request.
url=$1; pid=$2; c=$3; d=${4:-5s}; script=${5:-locate.lua}
t=$(( c < 2 ? 1 : 2 ))
read u0 s0 < <(awk '{print $14, $15}' /proc/$pid/stat)
out=$(wrk -t$t -c$c -d$d -s $script $url)
read u1 s1 < <(awk '{print $14, $15}' /proc/$pid/stat)
n=$(echo "$out" | awk '/requests in/{print $1}')
rs=$(echo "$out" | awk '/Requests\/sec/{print $2}')
hz=$(getconf CLK_TCK)
echo "c=$c $rs req/s, user $(( (u1-u0)*1000000/hz/n )) µs, sys $(( (s1-s0)*1000000/hz/n )) µs per request (load $(cut -d' ' -f1 /proc/loadavg))"
