package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
	"wangge/geo/figures"
)

// Figures computes the 考核 table of query (see package figures for what
// each figure counts): one row per group, in key order, and the total (the
// sum of the groups, with its own median and p90). It first brings the
// rollup up to date (refreshFigures), then reads it in one repeatable-read
// snapshot, so that the figures agree. Should a write land between the
// two (the snapshot sees it but the rollup does not yet), it refreshes and
// reads again, a few times; then it answers with the rollup as it is.
func (db *DB) Figures(ctx context.Context, query figures.Query) (*figures.Table, error) {
	const tries = 4
	for try := 1; ; try++ {
		if err := db.refreshFigures(ctx); err != nil {
			return nil, err
		}
		var t *figures.Table
		stale := false
		err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
			var err error
			t, stale, err = readFigures(ctx, tx, query, try < tries)
			return err
		})
		if err != nil {
			return nil, unavailable(err)
		}
		if !stale {
			return t, nil
		}
	}
}

// figureRanks are the percentiles a row reports: the median and the p90.
var figureRanks = [2]float64{0.5, 0.9}

// rankAt is where a rank of a group's hours lies: its bucket and its place
// in the bucket.
type rankAt struct {
	bucket int32
	offset int64
}

// readFigures reads query's table in tx. With check, it first looks for
// days of the period that writes marked dirty after the last refresh, and
// reports the snapshot stale if there are any.
func readFigures(ctx context.Context, tx pgx.Tx, query figures.Query, check bool) (t *figures.Table, stale bool, err error) {
	level := string(query.Level)
	from, to := query.Period.From.In(figures.China).Format(time.DateOnly), query.Period.To.In(figures.China).Format(time.DateOnly)
	if check {
		var dirty int
		if err := tx.QueryRow(ctx, q("figures_stale"), from, to).Scan(&dirty); err != nil {
			return nil, false, err
		}
		if dirty > 0 {
			return nil, true, nil
		}
	}
	// The groups' histograms are gathered in memory, not on disk.
	if _, err := tx.Exec(ctx, q("figures_work_mem")); err != nil {
		return nil, false, err
	}
	names := map[string][2]string{}
	if !query.Level.IsTime() && query.Level != figures.LevelPerson && query.Level != figures.LevelItem {
		rows, err := tx.Query(ctx, q("figures_names"))
		if err != nil {
			return nil, false, err
		}
		var kind, code, name, parent string
		_, err = pgx.ForEachRow(rows, []any{&kind, &code, &name, &parent}, func() error {
			if kind == level {
				names[code] = [2]string{name, parent}
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}

	byKey := map[string]*figures.Row{}
	hists := map[string]histogram{}
	hours := map[string][]byte{}
	total := histogram{}
	{
		var side, key string
		var n [9]int
		var hist, hs []byte
		rows, err := tx.Query(ctx, q("figures_rows"), level, from, to)
		if err != nil {
			return nil, false, err
		}
		_, err = pgx.ForEachRow(rows, []any{&side, &key, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &n[8], &hist, &hs}, func() error {
			r, ok := byKey[key]
			if !ok {
				r = &figures.Row{Key: key}
				byKey[key] = r
			}
			if side == "accepted" {
				r.Accepted, r.Escalations, r.OverdueNow = n[0], n[1], n[2]
				return nil
			}
			r.Completed, r.OnTime, r.InVillage, r.InTown, r.Rated, r.Satisfied, r.Unsatisfied = n[0], n[3], n[4], n[5], n[6], n[7], n[8]
			h := histogram{}
			if err := h.add(hist); err != nil {
				return err
			}
			if len(hs) != 8*int(h.n()) {
				return fmt.Errorf("figures: %q has %d hours for a histogram of %d", key, len(hs)/8, h.n())
			}
			hists[key], hours[key] = h, bytes.Clone(hs)
			total.merge(h)
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}
	{
		// Overdue now: the open incidents (the rollup's open_due) less
		// those not yet due.
		var key string
		var n int
		rows, err := tx.Query(ctx, q("figures_not_yet_due"), level, query.Period.From, query.Period.To, query.Now)
		if err != nil {
			return nil, false, err
		}
		_, err = pgx.ForEachRow(rows, []any{&key, &n}, func() error {
			if r, ok := byKey[key]; ok {
				// Never below zero, even on a stale rollup (see Figures).
				r.OverdueNow = max(r.OverdueNow-n, 0)
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}

	{
		// The visit log's counts (no rollup: sql/figures.sql,
		// figures_visits). A group with visits only is a row too.
		var key string
		var visits, households, meetings int
		rows, err := tx.Query(ctx, q("figures_visits"), level, query.Period.From, query.Period.To)
		if err != nil {
			return nil, false, err
		}
		_, err = pgx.ForEachRow(rows, []any{&key, &visits, &households, &meetings}, func() error {
			r, ok := byKey[key]
			if !ok {
				r = &figures.Row{Key: key}
				byKey[key] = r
			}
			r.Visits, r.HouseholdsVisited, r.Meetings = visits, households, meetings
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}

	// The medians and p90s: a group's merged histogram tells which bucket
	// each rank needed lies in, and its place there; only the hours of
	// those buckets are picked out and sorted. The total's are picked out
	// of every group's hours.
	pick := func(h histogram, blobs ...[]byte) (median, p90 *float64) {
		cdf := h.cdf()
		if cdf.n == 0 {
			return nil, nil
		}
		n := int(cdf.n)
		at := map[int]rankAt{}
		// The buckets wanted (at most four) and their hours.
		var want []int32
		for _, p := range figureRanks {
			for _, rank := range figures.PercentileRanks(n, p) {
				b, off := cdf.locate(int64(rank))
				at[rank] = rankAt{b, off}
				if !slices.Contains(want, b) {
					want = append(want, b)
				}
			}
		}
		picked := make([][]float64, len(want))
		for _, blob := range blobs {
			for i := 0; i < len(blob); i += 8 {
				v := math.Float64frombits(binary.BigEndian.Uint64(blob[i:]))
				b := int32(math.Ceil(v)) - 1
				for j, w := range want {
					if b == w {
						picked[j] = append(picked[j], v)
						break
					}
				}
			}
		}
		in := make(map[int32][]float64, len(want))
		for j, vs := range picked {
			slices.Sort(vs)
			in[want[j]] = vs
		}
		var out [len(figureRanks)]float64
		for i, p := range figureRanks {
			out[i] = figures.PercentileAt(n, p, func(rank int) float64 {
				vs, off := in[at[rank].bucket], at[rank].offset
				if off >= int64(len(vs)) {
					// Never: the histogram and the hours are made from
					// the same values (figures_refresh_completed).
					err = fmt.Errorf("figures: bucket %d holds %d hours, its histogram more", at[rank].bucket, len(vs))
					return math.NaN()
				}
				return vs[off]
			})
		}
		return &out[0], &out[1]
	}

	t = &figures.Table{Query: query}
	sum := figures.Row{Key: "total", Name: "合计"}
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		r := byKey[k]
		r.Name, r.Parent = rowName(query.Level, k, names)
		if h, ok := hists[k]; ok {
			r.MedianHours, r.P90Hours = pick(h, hours[k])
			if err != nil {
				return nil, false, err
			}
		}
		r.NoVisits = query.Level == figures.LevelItem
		t.Rows = append(t.Rows, *r)
		sum.Accepted += r.Accepted
		sum.Completed += r.Completed
		sum.OnTime += r.OnTime
		sum.OverdueNow += r.OverdueNow
		sum.Escalations += r.Escalations
		sum.InVillage += r.InVillage
		sum.InTown += r.InTown
		sum.Rated += r.Rated
		sum.Satisfied += r.Satisfied
		sum.Unsatisfied += r.Unsatisfied
		sum.Visits += r.Visits
		sum.HouseholdsVisited += r.HouseholdsVisited
		sum.Meetings += r.Meetings
	}
	sum.MedianHours, sum.P90Hours = pick(total, slices.Collect(maps.Values(hours))...)
	if err != nil {
		return nil, false, err
	}
	sum.NoVisits = query.Level == figures.LevelItem
	t.Total = sum
	return t, false, nil
}

// histogram counts completions by whole hour: bucket b holds the hours h
// with b < h ≤ b + 1 (sql/figures.sql, figures_refresh_completed).
type histogram map[int32]int64

// add counts a rollup row's hist: big-endian int4 pairs (bucket, count),
// any number of rows' concatenated.
func (h histogram) add(blob []byte) error {
	if len(blob)%8 != 0 {
		return fmt.Errorf("figures: a histogram of %d bytes", len(blob))
	}
	if len(blob) == 0 {
		return nil
	}
	pair := func(i int) (int32, int64) {
		return int32(binary.BigEndian.Uint32(blob[i:])), int64(int32(binary.BigEndian.Uint32(blob[i+4:])))
	}
	lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
	for i := 0; i < len(blob); i += 8 {
		b, _ := pair(i)
		lo, hi = min(lo, b), max(hi, b)
	}
	if int64(hi)-int64(lo) >= 1<<16 {
		for i := 0; i < len(blob); i += 8 {
			b, c := pair(i)
			h[b] += c
		}
		return nil
	}
	// Most spans are a few hundred hours: count densely, then keep the
	// buckets with any.
	dense := make([]int64, hi-lo+1)
	for i := 0; i < len(blob); i += 8 {
		b, c := pair(i)
		dense[b-lo] += c
	}
	for i, c := range dense {
		if c != 0 {
			h[lo+int32(i)] += c
		}
	}
	return nil
}

// n is the number of hours counted.
func (h histogram) n() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

func (h histogram) merge(o histogram) {
	for b, n := range o {
		h[b] += n
	}
}

// histCDF is a histogram in bucket order with the count below each
// bucket.
type histCDF struct {
	buckets []int32
	below   []int64 // below[i]: the hours in buckets[:i]
	n       int64
}

func (h histogram) cdf() histCDF {
	c := histCDF{buckets: slices.Sorted(maps.Keys(h))}
	c.below = make([]int64, len(c.buckets))
	for i, b := range c.buckets {
		c.below[i] = c.n
		c.n += h[b]
	}
	return c
}

// locate returns the bucket holding the hours of rank (0-based, in
// ascending order; rank < n) and the rank's place within the bucket.
func (c histCDF) locate(rank int64) (bucket int32, offset int64) {
	// The first bucket with more than rank hours below its end.
	i := sort.Search(len(c.buckets), func(i int) bool {
		end := c.n
		if i+1 < len(c.buckets) {
			end = c.below[i+1]
		}
		return end > rank
	})
	return c.buckets[i], rank - c.below[i]
}

// refreshFigures recomputes the rollup's rows of the days that writes
// marked dirty since the last refresh, and the sums of the months they lie
// in if those ended more than a month ago, in one transaction. Concurrent
// refreshers queue on a lock; a write that commits meanwhile marks its days
// again, for the next.
func (db *DB) refreshFigures(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q("figures_refresh_lock")); err != nil {
			return err
		}
		var days []string
		if err := tx.QueryRow(ctx, q("figures_refresh_take")).Scan(&days); err != nil {
			return err
		}
		if len(days) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, q("figures_work_mem")); err != nil {
			return err
		}
		for _, name := range []string{"figures_refresh_clear", "figures_refresh_accepted", "figures_refresh_completed", "figures_months_drop"} {
			if _, err := tx.Exec(ctx, q(name), days); err != nil {
				return err
			}
		}
		// The months that ended more than a month ago are summed again:
		// a year reads them, not their days.
		var months []string
		if err := tx.QueryRow(ctx, q("figures_months_to_build")).Scan(&months); err != nil {
			return err
		}
		if len(months) > 0 {
			if _, err := tx.Exec(ctx, q("figures_months_build"), months); err != nil {
				return err
			}
		}
		if len(days) > 31 {
			// A first build or a bulk load: the planner would read the
			// rollup as empty until autovacuum came by.
			if _, err := tx.Exec(ctx, q("figures_analyze")); err != nil {
				return err
			}
		}
		return nil
	})
	return unavailable(err)
}

// rowName is how a reader knows the group key of level, and the group it
// lies in.
func rowName(level figures.Level, key string, names map[string][2]string) (name, parent string) {
	switch level {
	case figures.LevelCounty, figures.LevelTown, figures.LevelDistrict, figures.LevelVillage, figures.LevelGrid:
		if n, ok := names[key]; ok && n[0] != "" {
			return n[0], n[1]
		}
		if key == "" {
			return "（未落入网格）", ""
		}
		return key, ""
	case figures.LevelItem:
		return geo.CategoryName(geo.Category(key)), ""
	case figures.LevelPerson:
		if key == "" {
			return "（未指派）", ""
		}
		_, name := figures.SplitPersonKey(key)
		return name, ""
	}
	day, err := time.ParseInLocation("2006-01-02", key, figures.China)
	if err != nil {
		return key, ""
	}
	switch level {
	case figures.LevelWeek:
		y, w := day.ISOWeek()
		return fmt.Sprintf("%d年第%d周", y, w), ""
	case figures.LevelMonth:
		return fmt.Sprintf("%d年%d月", day.Year(), day.Month()), ""
	case figures.LevelQuarter:
		return fmt.Sprintf("%d年第%d季度", day.Year(), (int(day.Month())+2)/3), ""
	}
	return fmt.Sprintf("%d年%d月%d日", day.Year(), day.Month(), day.Day()), ""
}
