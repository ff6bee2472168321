//go:build !linux

package busypoll

// supported is false where MSG_PEEK and sched_yield are not wired up:
// New turns polling off.
const supported = false

func (c *conn) poll(fd uintptr) { c.outcome = &c.p.expired }
