package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
)

// report is everything one run prints.
type report struct {
	Date    string   `json:"date"`
	Command string   `json:"command"`
	Machine machine  `json:"machine"`
	Town    string   `json:"town"`
	Points  string   `json:"points"`
	Runs    int      `json:"runs"`
	Results []row    `json:"results"`
	Notes   []string `json:"notes,omitempty"`
}

// machine describes where the figures were measured.
type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	OS         string `json:"os"`
	Go         string `json:"go"`
	PostgreSQL string `json:"postgresql"`
	PostGIS    string `json:"postgis"`
	// OtherLoad is the share of the machine's CPU time that other
	// processes used during the measurements, and OtherLoadMax the most
	// they used during one measurement (nil: unknown, no /proc).
	OtherLoad    *float64 `json:"other_load,omitempty"`
	OtherLoadMax *float64 `json:"other_load_max,omitempty"`
}

// row is one figure: wangge's value, PostGIS's equivalent if any, and the
// target from the issue if any. With several runs the values are medians
// and the ranges give the smallest and largest run.
type row struct {
	Metric         string      `json:"metric"`
	Unit           string      `json:"unit"`
	Wangge         float64     `json:"wangge"`
	WanggeRange    *[2]float64 `json:"wangge_range,omitempty"`
	PostGISQuery   string      `json:"postgis_query,omitempty"`
	PostGIS        *float64    `json:"postgis,omitempty"`
	PostGISRange   *[2]float64 `json:"postgis_range,omitempty"`
	HigherIsBetter bool        `json:"higher_is_better"`
	// Ratio is how many times better wangge is than PostGIS: wangge ÷
	// PostGIS for rates, PostGIS ÷ wangge for times.
	Ratio  *float64 `json:"ratio,omitempty"`
	Target string   `json:"target,omitempty"`
	Met    *bool    `json:"met,omitempty"`

	check func(*row) bool // decides Met
}

// thisMachine describes the machine, PostgreSQL and PostGIS aside.
func thisMachine() machine {
	return machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPUModel: cpuModel(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
}

// cpuModel reads the CPU's name from /proc/cpuinfo ("" elsewhere).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// rate adds a row whose value is a rate (higher is better).
func (r *report) rate(metric, unit string, wangge float64) *row {
	r.Results = append(r.Results, row{Metric: metric, Unit: unit, Wangge: wangge, HigherIsBetter: true})
	return &r.Results[len(r.Results)-1]
}

// cost adds a row whose value is a time or a size (lower is better).
func (r *report) cost(metric, unit string, wangge float64) *row {
	r.Results = append(r.Results, row{Metric: metric, Unit: unit, Wangge: wangge})
	return &r.Results[len(r.Results)-1]
}

// vs sets PostGIS's figure, measured by the named query, and the ratio.
func (w *row) vs(query string, postgis float64) *row {
	w.PostGISQuery, w.PostGIS = query, &postgis
	w.Ratio = nil
	if postgis > 0 && w.Wangge > 0 {
		ratio := w.Wangge / postgis
		if !w.HigherIsBetter {
			ratio = postgis / w.Wangge
		}
		w.Ratio = &ratio
	}
	w.evaluate()
	return w
}

// atLeast sets a target that the value must reach.
func (w *row) atLeast(v float64) *row {
	w.Target = "≥ " + formatValue(v, w.Unit)
	w.check = func(w *row) bool { return w.Wangge >= v }
	w.evaluate()
	return w
}

// atMost sets a target that the value must not exceed.
func (w *row) atMost(v float64) *row {
	w.Target = "≤ " + formatValue(v, w.Unit)
	w.check = func(w *row) bool { return w.Wangge <= v }
	w.evaluate()
	return w
}

// ratioAtLeast sets a target on the ratio against PostGIS.
func (w *row) ratioAtLeast(v float64) *row {
	w.Target = fmt.Sprintf("≥ %g× PostGIS", v)
	w.check = func(w *row) bool { return w.Ratio != nil && *w.Ratio >= v }
	w.evaluate()
	return w
}

// evaluate sets Met from the target, if there is one.
func (w *row) evaluate() {
	if w.check != nil {
		met := w.check(w)
		w.Met = &met
	}
}

// medianRows merges the rows of several runs (the same rows in the same
// order) into one row per figure: the median of each value, its range,
// and the ratio and target evaluated on the medians.
func medianRows(runs [][]row) []row {
	if len(runs) == 1 {
		return runs[0]
	}
	out := make([]row, len(runs[0]))
	for i := range out {
		var ws, ps []float64
		for _, rows := range runs {
			ws = append(ws, rows[i].Wangge)
			if rows[i].PostGIS != nil {
				ps = append(ps, *rows[i].PostGIS)
			}
		}
		r := runs[0][i]
		r.Wangge, r.WanggeRange = median(ws), &[2]float64{slices.Min(ws), slices.Max(ws)}
		if len(ps) > 0 {
			r.vs(r.PostGISQuery, median(ps))
			r.PostGISRange = &[2]float64{slices.Min(ps), slices.Max(ps)}
		}
		r.evaluate()
		out[i] = r
	}
	return out
}

// median returns the median of vs (the mean of the middle two for an even
// count).
func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// writeJSON prints the report as indented JSON.
func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeMarkdown prints the report as Markdown: the machine, the command,
// and the table.
func (r *report) writeMarkdown(w io.Writer) error {
	m := r.Machine
	var b strings.Builder
	fmt.Fprintf(&b, "## wangge-load, %s\n\n", r.Date)
	fmt.Fprintf(&b, "- machine: %d CPUs (GOMAXPROCS %d), %s, %s\n", m.CPUs, m.GOMAXPROCS, m.CPUModel, m.OS)
	fmt.Fprintf(&b, "- Go: %s; %s; %s\n", m.Go, m.PostgreSQL, m.PostGIS)
	if m.OtherLoad != nil {
		fmt.Fprintf(&b, "- other processes: %.0f%% of the CPU time during the measurements (at most %.0f%% during one)\n",
			100**m.OtherLoad, 100**m.OtherLoadMax)
	}
	fmt.Fprintf(&b, "- command: `%s`\n", r.Command)
	fmt.Fprintf(&b, "- data: %s\n", r.Town)
	fmt.Fprintf(&b, "- points: %s\n", r.Points)
	if r.Runs > 1 {
		fmt.Fprintf(&b, "- runs: %d; each figure is the median of the runs, with the smallest and largest in parentheses\n", r.Runs)
	}
	b.WriteString("\n")
	b.WriteString("| metric | wangge | PostGIS | ratio | target |\n|---|---:|---:|---:|---|\n")
	for _, x := range r.Results {
		pg, ratio := "—", "—"
		if x.PostGIS != nil {
			pg = formatValue(*x.PostGIS, x.Unit) + formatRange(x.PostGISRange, x.Unit)
		}
		if x.Ratio != nil {
			ratio = fmt.Sprintf("%.1f×", *x.Ratio)
		}
		target := "—"
		if x.Met != nil {
			target = x.Target + map[bool]string{true: " ✅ met", false: " ❌ missed"}[*x.Met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", x.Metric, formatValue(x.Wangge, x.Unit)+formatRange(x.WanggeRange, x.Unit), pg, ratio, target)
	}
	b.WriteString("\nratio: how many times better wangge is (wangge ÷ PostGIS for rates, PostGIS ÷ wangge for times).\n")
	if pgq := r.postgisQueries(); pgq != "" {
		b.WriteString("\nPostGIS side, per row:\n\n" + pgq)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		b.WriteString("- " + n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// postgisQueries lists what the PostGIS column measured: each query once,
// with the rows it serves.
func (r *report) postgisQueries() string {
	var order []string
	rows := map[string][]string{}
	for _, x := range r.Results {
		if q := x.PostGISQuery; q != "" {
			if _, seen := rows[q]; !seen {
				order = append(order, q)
			}
			rows[q] = append(rows[q], x.Metric)
		}
	}
	var b strings.Builder
	for _, q := range order {
		fmt.Fprintf(&b, "- %s: %s\n", strings.Join(rows[q], "; "), q)
	}
	return b.String()
}

// formatValue prints v in unit: rates with thousands separators, times
// and sizes with sensible precision.
func formatValue(v float64, unit string) string {
	switch {
	case strings.HasSuffix(unit, "/s"):
		if v < 100 {
			return fmt.Sprintf("%.1f %s", v, unit)
		}
		return thousands(int64(math.Round(v))) + " " + unit
	case unit == "s":
		return fmt.Sprintf("%.2f s", v)
	case v >= 100:
		return fmt.Sprintf("%s %s", thousands(int64(math.Round(v))), unit)
	default:
		return fmt.Sprintf("%.1f %s", v, unit)
	}
}

// formatRange prints " (min–max)" of a range, or "" for none.
func formatRange(r *[2]float64, unit string) string {
	if r == nil {
		return ""
	}
	num := func(v float64) string { return strings.TrimSuffix(formatValue(v, unit), " "+unit) }
	return fmt.Sprintf(" (%s–%s)", num(r[0]), num(r[1]))
}

// thousands formats n with commas: 1234567 -> "1,234,567".
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
