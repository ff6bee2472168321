package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuMeter tells how much CPU other processes took while the benchmark
// ran: the machine's busy time (/proc/stat) minus this process's and its
// PostgreSQL server's. On a shared machine that share explains low
// figures. All times are in clock ticks; on systems without /proc the
// meter reports nothing.
type cpuMeter struct {
	postmaster int // PID of the benchmark's PostgreSQL server, 0 if unknown
	last       cpuSample
	ok         bool
}

// cpuSample is one reading of the clocks.
type cpuSample struct {
	total, busy, ours uint64
}

// newCPUMeter starts a meter; pgData is the server's data folder, whose
// postmaster.pid names the server process.
func newCPUMeter(pgData string) *cpuMeter {
	m := &cpuMeter{}
	if b, err := os.ReadFile(filepath.Join(pgData, "postmaster.pid")); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		m.postmaster, _ = strconv.Atoi(strings.TrimSpace(line))
	}
	m.last, m.ok = m.sample()
	return m
}

// cpuLap is the CPU time other processes took during a lap, out of the
// machine's total, in clock ticks.
type cpuLap struct {
	foreign, total float64
}

// share is the fraction of the machine's CPU time other processes took.
func (l cpuLap) share() float64 {
	if l.total == 0 {
		return 0
	}
	return l.foreign / l.total
}

// add adds o to l.
func (l *cpuLap) add(o cpuLap) {
	l.foreign += o.foreign
	l.total += o.total
}

// lap returns the CPU time other processes took since the previous lap
// (or the start), and false when it cannot tell.
func (m *cpuMeter) lap() (cpuLap, bool) {
	s, ok := m.sample()
	prev, prevOK := m.last, m.ok
	m.last, m.ok = s, ok
	if !ok || !prevOK || s.total <= prev.total {
		return cpuLap{}, false
	}
	foreign := float64(s.busy-prev.busy) - float64(s.ours-prev.ours)
	return cpuLap{foreign: max(foreign, 0), total: float64(s.total - prev.total)}, true
}

// sample reads the machine's clocks and ours.
func (m *cpuMeter) sample() (cpuSample, bool) {
	total, idle, ok := cpuTimes()
	if !ok {
		return cpuSample{}, false
	}
	s := cpuSample{total: total, busy: total - idle}
	self, _, ok := procTimes("self")
	if !ok {
		return cpuSample{}, false
	}
	s.ours = self
	if m.postmaster > 0 {
		s.ours += m.serverTimes()
	}
	return s, true
}

// serverTimes is the CPU time of the PostgreSQL server: the postmaster,
// its exited children (which it reaps) and its live children.
func (m *cpuMeter) serverTimes() uint64 {
	var sum uint64
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		t, ppid, ok := procTimes(e.Name())
		switch {
		case !ok:
		case pid == m.postmaster:
			sum += t + childTimes(e.Name())
		case ppid == m.postmaster:
			sum += t
		}
	}
	return sum
}

// procStat returns the fields of /proc/<pid>/stat after the command name
// (which may hold spaces), so that field 3 of proc(5) is at index 0.
func procStat(pid string) []string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// procTimes returns a process's user+system time and its parent's PID.
func procTimes(pid string) (ticks uint64, ppid int, ok bool) {
	f := procStat(pid)
	if len(f) < 15 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])                 // field 4
	utime, _ := strconv.ParseUint(f[11], 10, 64) // field 14
	stime, _ := strconv.ParseUint(f[12], 10, 64) // field 15
	return utime + stime, ppid, true
}

// childTimes returns the user+system time of a process's reaped children.
func childTimes(pid string) uint64 {
	f := procStat(pid)
	if len(f) < 15 {
		return 0
	}
	cu, _ := strconv.ParseUint(f[13], 10, 64) // field 16
	cs, _ := strconv.ParseUint(f[14], 10, 64) // field 17
	return cu + cs
}

// cpuTimes reads the first line of /proc/stat: total and idle jiffies of
// all CPUs (ok false where there is no /proc).
func cpuTimes() (total, idle uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return total, idle, true
}
