package api_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wangge/geo"
)

// BenchmarkCreateIncident measures POST /v1/incidents through the real
// handler into PostgreSQL (routing from memory, one transaction per
// incident with its first events and the audit entry), one client and 8
// concurrent clients, and reports the p99 latency. BENCHMARKS.md quotes it.
func BenchmarkCreateIncident(b *testing.B) {
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			e := newDispatchEnv(b, dispatchTown())
			secret := e.secrets[geo.AccessDispatcher]
			bodies := make([]string, 64)
			for i := range bodies {
				p := centre(1 + i%6)
				bodies[i] = fmt.Sprintf(`{"lon":%v,"lat":%v,"category":"environment","severity":"minor","description":"垃圾","source":"wechat","reporter_phone":"13912345678"}`, p[0], p[1])
			}
			var mu sync.Mutex
			var lat []time.Duration
			var wg sync.WaitGroup
			per := b.N / clients
			b.ResetTimer()
			start := time.Now()
			for w := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					mine := make([]time.Duration, 0, per+1)
					for i := 0; i < per+1 && w*per+i < b.N; i++ {
						req := httptest.NewRequest("POST", "/v1/incidents", strings.NewReader(bodies[i%len(bodies)]))
						req.Header.Set("Authorization", "Bearer "+secret)
						req.Header.Set("Content-Type", "application/json")
						rec := httptest.NewRecorder()
						t0 := time.Now()
						e.srv.ServeHTTP(rec, req)
						mine = append(mine, time.Since(t0))
						if rec.Code != 201 {
							b.Errorf("status %d: %s", rec.Code, rec.Body)
							return
						}
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "incidents/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
