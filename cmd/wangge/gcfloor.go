package main

import "os"

// gcFloorBytes is the heap wangge serve holds aside so that the garbage
// collector of a small deployment does not run every few thousand
// requests.
const gcFloorBytes = 64 << 20

// gcFloor is allocated once by reserveGCFloor and never read or written.
// The collector's goal is twice the live heap (GOGC=100), and a town's
// snapshot is ~8 MiB: without it, it collected after every ~8 MiB of
// requests' garbage (~3,500 lookups, 2.3 KB each, nearly all net/http's),
// which cost a GET more CPU than the index. With it the goal is at least
// twice the floor, and a national snapshot, whose live heap dwarfs it,
// collects as before. Its pages are never touched, so the system never
// backs them with memory: it costs address space, not RSS. An operator
// who sets GOGC or GOMEMLIMIT has tuned the collector: then there is none.
var gcFloor []byte

func reserveGCFloor() {
	if gcFloor != nil || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	gcFloor = make([]byte, gcFloorBytes)
}
