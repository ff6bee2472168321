package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// largeLayer runs TestLargeLayer at the size of the China county layer
// (137 MB of GeoJSON); without it the layer is 20 MB, for make test. The
// figures in BENCHMARKS.md ("Large layers") come from
//
//	go test ./cmd/wangge -run '^TestLargeLayer$' -v -timeout 60m -args -large
//
// (or WANGGE_LARGE=1 in the environment).
var largeLayer = flag.Bool("large", false, "TestLargeLayer: a 137 MB layer instead of 20 MB")

// largeLayerChildEnv carries the arguments of `wangge` to the child
// process of TestLargeLayer, as a JSON array.
const largeLayerChildEnv = "WANGGE_LARGE_LAYER_CHILD"

// countyLattice is a synthetic county-sized layer: cols × rows grids of
// 0.01° (about 1 km), in villages of 5 × 5 grids, every edge walked through
// n lattice points that wiggle off the straight line (a real border's
// vertices), so that each grid has 4n vertices. Neighbours walk the same
// points, in opposite directions: the layer tiles its outline exactly.
type countyLattice struct {
	cols, rows, n int
}

const (
	latticeLon0, latticeLat0 = 112.0, 27.0
	latticeCell              = 0.01
	latticeVillage           = 5 // grids a side
)

// at is lattice point (i, j): on a horizontal edge it wiggles north or
// south, on a vertical edge east or west, by up to 0.3 of a step, and is
// rounded to 1e-7° (1 cm), as real files are.
func (l countyLattice) at(i, j int) orb.Point {
	d := latticeCell / float64(l.n)
	x, y := latticeLon0+float64(i)*d, latticeLat0+float64(j)*d
	w := float64((i*7919+j*104729)%13-6) / 20 * d
	switch {
	case i%l.n == 0 && j%l.n == 0: // a corner
	case j%l.n == 0:
		y += w
	case i%l.n == 0:
		x += w
	}
	return orb.Point{math.Round(x*1e7) / 1e7, math.Round(y*1e7) / 1e7}
}

// rect is the counter-clockwise ring around lattice cells [i0, i1) × [j0, j1)
// (in grid units), through every lattice point of its edges.
func (l countyLattice) rect(i0, j0, i1, j1 int) orb.MultiPolygon {
	n := l.n
	var r orb.Ring
	for i := i0 * n; i < i1*n; i++ {
		r = append(r, l.at(i, j0*n))
	}
	for j := j0 * n; j < j1*n; j++ {
		r = append(r, l.at(i1*n, j))
	}
	for i := i1 * n; i > i0*n; i-- {
		r = append(r, l.at(i, j1*n))
	}
	for j := j1 * n; j > j0*n; j-- {
		r = append(r, l.at(i0*n, j))
	}
	r = append(r, r[0])
	return orb.MultiPolygon{{r}}
}

// town is the layer as a town folder's data.
func (l countyLattice) town() *geo.TownData {
	td := &geo.TownData{Town: geo.Town{Code: "431321900", Name: "合成县", County: "双峰县", Province: "湖南省",
		Note:      "synthetic: a county-sized layer made by TestLargeLayer",
		Districts: []geo.District{{Code: "01", Name: "第1片区"}}, Outline: l.rect(0, 0, l.cols, l.rows)}}
	for vr := 0; vr < l.rows/latticeVillage; vr++ {
		for vc := 0; vc < l.cols/latticeVillage; vc++ {
			k := vr*(l.cols/latticeVillage) + vc
			v := geo.Village{Code: fmt.Sprintf("431321900%03d", 201+k), Name: fmt.Sprintf("合成%d村", k+1), DistrictCode: "01",
				Outline: l.rect(vc*latticeVillage, vr*latticeVillage, (vc+1)*latticeVillage, (vr+1)*latticeVillage)}
			td.Villages = append(td.Villages, v)
			for dj := range latticeVillage {
				for di := range latticeVillage {
					seq := dj*latticeVillage + di + 1
					i, j := vc*latticeVillage+di, vr*latticeVillage+dj
					td.Grids = append(td.Grids, geo.GridRecord{Grid: geo.Grid{
						Code: fmt.Sprintf("%s%03d", v.Code, seq), Name: fmt.Sprintf("第%d网格", seq), VillageCode: v.Code,
						Households: 80 + seq, Population: 250 + seq, Geometry: l.rect(i, j, i+1, j+1)}})
				}
			}
		}
	}
	return td
}

// writeCountyLayer writes a town folder of 60 × 50 = 3,000 grids whose
// grids.geojson is about size bytes, and returns its size.
func writeCountyLayer(t *testing.T, dir string, size int64) int64 {
	t.Helper()
	probe := countyLattice{cols: 60, rows: 50, n: 8}
	_, _, grids, err := townfile.Encode(probe.town())
	if err != nil {
		t.Fatal(err)
	}
	perVertex := float64(len(grids)) / float64(3000*4*8)
	l := probe
	l.n = max(4, int(float64(size)/3000/4/perVertex*1.17))
	if err := townfile.WriteDir(dir, l.town()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, townfile.GridsFile))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestLargeLayer imports a county-sized layer (3,000 grids; 20 MB of
// GeoJSON, or 137 MB with -large) through `wangge import`, in a child
// process whose peak RSS is read from /proc, then uploads the same layer
// gzip-compressed into a plan through the running server, whose peak Go
// heap is sampled. Both must pass; the figures are logged.
func TestLargeLayer(t *testing.T) {
	size := int64(20e6)
	if *largeLayer || os.Getenv("WANGGE_LARGE") != "" {
		size = 137e6
	}
	dir := t.TempDir()
	start := time.Now()
	gridBytes := writeCountyLayer(t, dir, size)
	t.Logf("generated grids.geojson: %.1f MB, 3000 grids, in %s", float64(gridBytes)/1e6, time.Since(start).Round(time.Millisecond))
	url := pgtest.ConnString(t)

	// The CLI, in a child process: its peak RSS is its own.
	start = time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	args, _ := json.Marshal([]string{"import", "-database-url", url, "-note", "large layer", dir})
	cmd.Env = append(os.Environ(), largeLayerChildEnv+"="+string(args))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("wangge import: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	cliTime := time.Since(start)
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindStringSubmatch(stdout.String())
	if m == nil || !strings.Contains(stdout.String(), "imported 合成县: 120 villages, 3000 grids") {
		t.Fatalf("wangge import said:\n%s\n%s", stdout.String(), stderr.String())
	}
	for _, want := range []string{"import: ", "reading ", "read 合成县: 120 villages, 3000 grids", "checking the coverage"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("wangge import's progress lacks %q:\n%s", want, stderr.String())
		}
	}
	cliKB, _ := strconv.Atoi(m[1])
	t.Logf("wangge import: %s, peak RSS %d MB\n%s", cliTime.Round(time.Millisecond), cliKB/1024, stderr.String())

	// The API: a plan on that generation, the same grids uploaded gzip-compressed.
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"token", "create", "-database-url", url, "-role", "planner", "-name", "规划员"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out.String())
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.Demo = url, false
	srv := startServer(t, cfg)
	call := func(method, path string, body io.Reader, header ...string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+srv.main.Addr+path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	code, body := call("POST", "/v1/plans", strings.NewReader(`{"note":"large layer"}`), "Content-Type", "application/json")
	var plan struct{ ID int64 }
	if code != 201 || json.Unmarshal(body, &plan) != nil {
		t.Fatalf("POST /v1/plans: %d %s", code, body)
	}
	gz := gzipFile(t, filepath.Join(dir, townfile.GridsFile))
	t.Logf("gzip-compressed: %.1f MB", float64(len(gz))/1e6)

	runtime.GC()
	peak := sampleHeap()
	start = time.Now()
	code, body = call("POST", fmt.Sprintf("/v1/plans/%d/import?format=geojson&code_field=code&name_field=name&village_field=village_code", plan.ID),
		bytes.NewReader(gz), "Content-Type", "application/geo+json", "Content-Encoding", "gzip")
	apiTime := time.Since(start)
	base, top := peak()
	var imported struct {
		Grids int
		Plan  struct{ Summary map[string]int }
	}
	if code != 200 || json.Unmarshal(body, &imported) != nil || imported.Grids != 3000 {
		t.Fatalf("POST …/import of %.1f MB gzip-compressed: %d %.500s", float64(len(gz))/1e6, code, body)
	}
	t.Logf("POST /v1/plans/{id}/import, %.1f MB as %.1f MB gzip: %s, Go heap %d MB before, peak %d MB (+%d MB); summary %v",
		float64(gridBytes)/1e6, float64(len(gz))/1e6, apiTime.Round(time.Millisecond), base>>20, top>>20, (top-base)>>20, imported.Plan.Summary)
}

// largeLayerChild is TestLargeLayer's child process (TestMain runs it
// instead of the tests when largeLayerChildEnv is set): it runs wangge
// with the arguments in the environment, prints its peak RSS and returns
// the exit code.
func largeLayerChild() int {
	var argv []string
	if err := json.Unmarshal([]byte(os.Getenv(largeLayerChildEnv)), &argv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := Run(context.Background(), argv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			fmt.Println(line)
		}
	}
	return 0
}

// gzipFile returns the file gzip-compressed.
func gzipFile(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := io.Copy(zw, f); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sampleHeap samples the bytes of live and not yet swept heap objects
// every 5 ms until the returned function is called, which returns the
// first sample and the highest.
func sampleHeap() func() (base, peak uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(s); return s[0].Value.Uint64() }
	first := read()
	top := first
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				top = max(top, read())
			}
		}
	})
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return first, max(top, read())
	}
}
