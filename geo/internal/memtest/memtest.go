// Package memtest measures how much memory a piece of code holds, for the
// tests that feed hostile files (bombs) to the readers and assert that
// memory stays bounded whatever a file claims.
package memtest

import (
	"runtime"
	"sync"
	"time"
)

// Bound is what reading one hostile file may hold: the peak of the heap in
// use above where it started.
const Bound = 64 << 20

// Measure runs fn and returns the peak heap in use above the start
// (sampled every millisecond), the bytes allocated (most of them garbage
// at once), and the time taken.
func Measure(fn func()) (peak, alloc uint64, took time.Duration) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var (
		mu   sync.Mutex
		high = before.HeapInuse
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			mu.Lock()
			high = max(high, m.HeapInuse)
			mu.Unlock()
		}
	}()
	start := time.Now()
	fn()
	took = time.Since(start)
	close(done)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	high = max(high, after.HeapInuse)
	return high - before.HeapInuse, after.TotalAlloc - before.TotalAlloc, took
}
