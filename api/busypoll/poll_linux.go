package busypoll

import (
	"syscall"
	"time"
	"unsafe"
)

const supported = true

// poll looks for bytes on fd (a one-byte MSG_PEEK, which leaves them for
// the read), yielding the CPU between looks, until they come or the poll
// must end. It sets c.outcome.
func (c *conn) poll(fd uintptr) {
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.peek[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		switch {
		case errno != syscall.EAGAIN && errno != syscall.EINTR:
			// Bytes, the client's close or an error: the read tells which.
			c.outcome = &c.p.data
			return
		case c.p.inRequest.Load() > 0:
			c.outcome = &c.p.yielded
			return
		case time.Now().UnixNano() >= c.pollEnd:
			c.outcome = &c.p.expired
			return
		}
		syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
	}
}
