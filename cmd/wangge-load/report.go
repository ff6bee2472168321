package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
)

// report is everything one run prints.
type report struct {
	Date    string   `json:"date"`
	Command string   `json:"command"`
	Machine machine  `json:"machine"`
	Town    string   `json:"town"`
	Points  string   `json:"points"`
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
}

// row is one figure: wangge's value, PostGIS's equivalent if any, and the
// target from the issue if any.
type row struct {
	Metric         string   `json:"metric"`
	Unit           string   `json:"unit"`
	Wangge         float64  `json:"wangge"`
	PostGISQuery   string   `json:"postgis_query,omitempty"`
	PostGIS        *float64 `json:"postgis,omitempty"`
	HigherIsBetter bool     `json:"higher_is_better"`
	// Ratio is how many times better wangge is than PostGIS: wangge ÷
	// PostGIS for rates, PostGIS ÷ wangge for times.
	Ratio  *float64 `json:"ratio,omitempty"`
	Target string   `json:"target,omitempty"`
	Met    *bool    `json:"met,omitempty"`
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
	if postgis > 0 && w.Wangge > 0 {
		ratio := w.Wangge / postgis
		if !w.HigherIsBetter {
			ratio = postgis / w.Wangge
		}
		w.Ratio = &ratio
	}
	return w
}

// atLeast sets a target that the value must reach.
func (w *row) atLeast(v float64) *row {
	w.Target = "≥ " + formatValue(v, w.Unit)
	met := w.Wangge >= v
	w.Met = &met
	return w
}

// atMost sets a target that the value must not exceed.
func (w *row) atMost(v float64) *row {
	w.Target = "≤ " + formatValue(v, w.Unit)
	met := w.Wangge <= v
	w.Met = &met
	return w
}

// ratioAtLeast sets a target on the ratio against PostGIS.
func (w *row) ratioAtLeast(v float64) *row {
	w.Target = fmt.Sprintf("≥ %g× PostGIS", v)
	met := w.Ratio != nil && *w.Ratio >= v
	w.Met = &met
	return w
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
	fmt.Fprintf(&b, "- command: `%s`\n", r.Command)
	fmt.Fprintf(&b, "- data: %s\n", r.Town)
	fmt.Fprintf(&b, "- points: %s\n\n", r.Points)
	b.WriteString("| metric | wangge | PostGIS | ratio | target |\n|---|---:|---:|---:|---|\n")
	for _, x := range r.Results {
		pg, ratio := "—", "—"
		if x.PostGIS != nil {
			pg = formatValue(*x.PostGIS, x.Unit)
		}
		if x.Ratio != nil {
			ratio = fmt.Sprintf("%.1f×", *x.Ratio)
		}
		target := "—"
		if x.Met != nil {
			target = x.Target + map[bool]string{true: " ✅ met", false: " ❌ missed"}[*x.Met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", x.Metric, formatValue(x.Wangge, x.Unit), pg, ratio, target)
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

// postgisQueries lists what the PostGIS column measured.
func (r *report) postgisQueries() string {
	var b strings.Builder
	for _, x := range r.Results {
		if x.PostGISQuery != "" {
			fmt.Fprintf(&b, "- %s: %s\n", x.Metric, x.PostGISQuery)
		}
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
