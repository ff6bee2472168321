package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"wangge/geo/townfile"
)

// progress prints what a long command is doing, one line at a time on
// stderr, each line with the time since the command started; while a slow
// step runs it says every interval that the step still runs, so that an
// import of a province's layer is not mistaken for a hang.
type progress struct {
	w        io.Writer
	name     string
	start    time.Time
	interval time.Duration
	mu       sync.Mutex
}

func newProgress(w io.Writer, name string) *progress {
	return &progress{w: w, name: name, start: time.Now(), interval: 10 * time.Second}
}

// printf prints one progress line.
func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s: %6.1fs %s\n", p.name, time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// during runs fn, saying every interval that what still runs.
func (p *progress) during(what string, fn func() error) error {
	p.printf("%s", what)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(p.interval)
		defer t.Stop()
		began := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.printf("  still %s (%s)", what, time.Since(began).Round(time.Second))
			}
		}
	})
	err := fn()
	close(done)
	wg.Wait()
	return err
}

// townFolderBytes is the size of the three files of a town folder (the
// ones that exist).
func townFolderBytes(dir string) int64 {
	var n int64
	for _, name := range []string{townfile.TownFile, townfile.VillagesFile, townfile.GridsFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// megabytes formats n bytes in MB, as file managers show them.
func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
