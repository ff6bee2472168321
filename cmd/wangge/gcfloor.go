package main

import (
	"os"
	"sync"
)

// gcFloorBytes is the heap wangge serve holds aside so that the garbage
// collector of a small deployment does not run every few thousand
// requests.
const gcFloorBytes = 64 << 20

// gcFloor allocates the floor on its first call and keeps it (sync.OnceValue
// holds the result), never read or written: once per process, also when
// several serves run in one (the tests run them side by side).
// The collector's goal is twice the live heap (GOGC=100), and a town's
// snapshot is ~8 MiB: without it, it collected after every ~8 MiB of
// requests' garbage (~3,500 lookups, 2.3 KB each, nearly all net/http's),
// which cost a GET more CPU than the index. With it the goal is at least
// twice the floor, and a national snapshot, whose live heap dwarfs it,
// collects as before. Its pages are never touched, so the system never
// backs them with memory: it costs address space, not RSS. An operator
// who sets GOGC or GOMEMLIMIT has tuned the collector: then there is none.
var gcFloor = sync.OnceValue(func() []byte {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	return make([]byte, gcFloorBytes)
})

func reserveGCFloor() { gcFloor() }
