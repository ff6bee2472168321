package coverage

import (
	"sync"
	"testing"
	"time"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/townfile"
)

var demoOnce = sync.OnceValues(func() (*geo.Snapshot, error) {
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		return nil, err
	}
	return geo.NewSnapshot(1, td.Area(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
})

// demo returns the demo town's snapshot, built once.
func demo(tb testing.TB) *geo.Snapshot {
	tb.Helper()
	s, err := demoOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
