package cql2

import (
	"cmp"
	"strings"
	"time"
	"unicode/utf8"
)

// Feature is what a filter is evaluated on: the value of each queryable
// (Value{} for null), the geometry included, under its queryable name.
type Feature interface {
	Property(name string) Value
}

// tri is a truth value of three-valued logic.
type tri int8

const (
	no tri = iota
	yes
	unknown
)

func truth(b bool) tri {
	if b {
		return yes
	}
	return no
}

// Match reports whether f passes a checked filter (see Check): true only
// when the filter is true, not when it is false or unknown.
func Match(n *Node, f Feature) bool { return eval(n, f) == yes }

func eval(n *Node, f Feature) tri {
	switch n.Op {
	case "and":
		out := yes
		for _, a := range n.Args {
			switch eval(a, f) {
			case no:
				return no
			case unknown:
				out = unknown
			}
		}
		return out
	case "or":
		out := no
		for _, a := range n.Args {
			switch eval(a, f) {
			case yes:
				return yes
			case unknown:
				out = unknown
			}
		}
		return out
	case "not":
		switch eval(n.Args[0], f) {
		case yes:
			return no
		case no:
			return yes
		}
		return unknown
	case "property", "literal":
		v := value(n, f)
		if v.Kind != Boolean {
			return unknown
		}
		return truth(v.Bool)
	case "isNull":
		return truth(value(n.Args[0], f).isNull())
	}
	args := make([]Value, len(n.Args))
	for i, a := range n.Args {
		args[i] = value(a, f)
	}
	if n.Op == "in" {
		if args[0].isNull() {
			return unknown
		}
		out := no
		for _, item := range args[1:] {
			if item.isNull() {
				out = unknown
			} else if c, ok := compare(args[0], item); ok && c == 0 {
				return yes
			}
		}
		return out
	}
	for _, a := range args {
		if a.isNull() {
			return unknown
		}
	}
	switch {
	case comparisons[n.Op]:
		c, ok := compare(args[0], args[1])
		if !ok {
			return unknown
		}
		switch n.Op {
		case "=":
			return truth(c == 0)
		case "<>":
			return truth(c != 0)
		case "<":
			return truth(c < 0)
		case "<=":
			return truth(c <= 0)
		case ">":
			return truth(c > 0)
		}
		return truth(c >= 0)
	case n.Op == "like":
		return truth(like(args[0].Str, args[1].Str))
	case n.Op == "between":
		lo, ok1 := compare(args[0], args[1])
		hi, ok2 := compare(args[0], args[2])
		if !ok1 || !ok2 {
			return unknown
		}
		return truth(lo >= 0 && hi <= 0)
	case n.Op == "s_intersects":
		return truth(Intersects(args[0].Geom, args[1].Geom))
	case n.Op == "s_disjoint":
		return truth(!Intersects(args[0].Geom, args[1].Geom))
	case temporalOps[n.Op]:
		return truth(temporal(n.Op, span(args[0]), span(args[1])))
	}
	return unknown
}

// value computes a scalar operand.
func value(n *Node, f Feature) Value {
	switch n.Op {
	case "property":
		return f.Property(n.Name)
	case "literal":
		return n.Value
	case "interval":
		var ends [2]Value
		for i, a := range n.Args {
			ends[i] = value(a, f)
			if ends[i].Kind == String { // '..': open
				ends[i] = nullValue()
			} else if ends[i].isNull() {
				return nullValue() // a null end is unknown, not open
			}
		}
		v, err := makeInterval(ends[0], ends[1])
		if err != nil {
			return nullValue()
		}
		return v
	case "casei":
		v := value(n.Args[0], f)
		if v.Kind == String {
			v.Str = strings.ToLower(v.Str)
		}
		return v
	}
	switch eval(n, f) {
	case yes:
		return Bool(true)
	case no:
		return Bool(false)
	}
	return nullValue()
}

// compare orders two non-null values of comparable types; ok is false
// when they cannot be compared.
func compare(a, b Value) (int, bool) {
	if !a.comparableWith(b) {
		return 0, false
	}
	switch a.Kind {
	case String:
		return strings.Compare(a.Str, b.Str), true
	case Number:
		return cmp.Compare(a.Num, b.Num), true
	case Boolean:
		if a.Bool == b.Bool {
			return 0, true
		}
		return 1, true
	case Timestamp, Date:
		return a.Time.Compare(b.Time), true
	}
	return 0, false
}

// like matches s against a CQL2 pattern: % is any run of characters, _ is
// one character, \ makes the next character literal. It runs in
// O(len(s)·len(pattern)) whatever the pattern (no backtracking blow-up).
func like(s, pattern string) bool {
	type pc struct {
		r   rune
		any bool // %
		one bool // _
	}
	var pat []pc
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		i += size
		switch r {
		case '\\':
			if i < len(pattern) {
				r, size = utf8.DecodeRuneInString(pattern[i:])
				i += size
			}
			pat = append(pat, pc{r: r})
		case '%':
			if len(pat) == 0 || !pat[len(pat)-1].any {
				pat = append(pat, pc{any: true})
			}
		case '_':
			pat = append(pat, pc{one: true})
		default:
			pat = append(pat, pc{r: r})
		}
	}
	// cur[j] is whether text[:i] matches pat[:j].
	cur := make([]bool, len(pat)+1)
	nxt := make([]bool, len(pat)+1)
	cur[0] = true
	for j := 1; j <= len(pat); j++ {
		cur[j] = cur[j-1] && pat[j-1].any
	}
	for _, r := range s {
		nxt[0] = false
		for j := 1; j <= len(pat); j++ {
			p := pat[j-1]
			switch {
			case p.any:
				nxt[j] = nxt[j-1] || cur[j]
			case p.one:
				nxt[j] = cur[j-1]
			default:
				nxt[j] = cur[j-1] && p.r == r
			}
		}
		cur, nxt = nxt, cur
	}
	return cur[len(pat)]
}

// The ends of an open interval.
var (
	beginningOfTime = time.Unix(-1<<60, 0)
	endOfTime       = time.Unix(1<<60, 0)
)

// span is a temporal value as a closed interval [start, end]: an instant
// is [t, t], a date the whole day.
func span(v Value) [2]time.Time {
	switch v.Kind {
	case Date:
		return [2]time.Time{v.Time, v.Time.Add(24*time.Hour - time.Nanosecond)}
	case Interval:
		s := [2]time.Time{v.Time, v.End}
		if v.OpenStart {
			s[0] = beginningOfTime
		}
		if v.OpenEnd {
			s[1] = endOfTime
		}
		return s
	}
	return [2]time.Time{v.Time, v.Time}
}

// temporal decides a temporal function on two closed intervals, as the
// CQL2 standard defines them (after Allen's interval relations).
func temporal(op string, a, b [2]time.Time) bool {
	as, ae, bs, be := a[0], a[1], b[0], b[1]
	switch op {
	case "t_after":
		return as.After(be)
	case "t_before":
		return ae.Before(bs)
	case "t_contains":
		return as.Before(bs) && ae.After(be)
	case "t_disjoint":
		return as.After(be) || ae.Before(bs)
	case "t_during":
		return as.After(bs) && ae.Before(be)
	case "t_equals":
		return as.Equal(bs) && ae.Equal(be)
	case "t_finishedby":
		return as.Before(bs) && ae.Equal(be)
	case "t_finishes":
		return as.After(bs) && ae.Equal(be)
	case "t_intersects":
		return !as.After(be) && !ae.Before(bs)
	case "t_meets":
		return ae.Equal(bs)
	case "t_metby":
		return as.Equal(be)
	case "t_overlappedby":
		return as.After(bs) && as.Before(be) && ae.After(be)
	case "t_overlaps":
		return as.Before(bs) && ae.After(bs) && ae.Before(be)
	case "t_startedby":
		return as.Equal(bs) && ae.After(be)
	case "t_starts":
		return as.Equal(bs) && ae.Before(be)
	}
	return false
}
