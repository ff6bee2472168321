// Package cql2 reads OGC Common Query Language (CQL2) filters, in the text
// and the JSON encodings, into one syntax tree, checks the tree against the
// queryables of a collection, and evaluates it over features in memory.
//
// It implements Basic CQL2 (comparisons, AND/OR/NOT, IS NULL), the advanced
// comparison operators (LIKE, BETWEEN, IN), CASEI, the comparison of two
// properties, S_INTERSECTS and S_DISJOINT with every geometry literal
// (POINT, LINESTRING, POLYGON, their MULTI forms, GEOMETRYCOLLECTION and
// BBOX), and the temporal functions T_AFTER … T_STARTS over TIMESTAMP, DATE
// and INTERVAL literals and timestamp properties. Arithmetic, arrays,
// ACCENTI and the spatial functions other than S_INTERSECTS and S_DISJOINT
// are refused with an error that names them.
//
// Geometries are planar: coordinates are compared as the numbers they are,
// in whatever CRS the caller put them; the package does not project. The
// caller turns literals into the features' CRS (Node.MapGeometries).
//
// Evaluation follows SQL's three-valued logic: a comparison with a null
// property is unknown, NOT unknown is unknown, and a feature is selected
// only when the whole filter is true.
//
// The package is pure: no I/O, no SQL. Hostile input is bounded: a filter
// nests at most MaxDepth levels and holds at most MaxNodes nodes; anything
// beyond is an error, never a stack overflow.
package cql2

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// Limits on a filter, so that a hostile one costs bounded work.
const (
	MaxDepth = 64
	MaxNodes = 10_000
)

// Type is the type of a queryable or a literal.
type Type int

// The types of CQL2 values.
const (
	Null Type = iota
	String
	Number
	Boolean
	Timestamp
	Date
	Interval
	Geometry
)

var typeNames = [...]string{"null", "string", "number", "boolean", "timestamp", "date", "interval", "geometry"}

// String names the type as the errors say it.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Value is a literal or a property's value. Kind says which member holds
// it; Null has none. An Interval holds Time and End, either of which may
// be open (OpenStart, OpenEnd); a Date holds midnight UTC of its day.
type Value struct {
	Kind      Type
	Str       string
	Num       float64
	Bool      bool
	Time, End time.Time
	OpenStart bool
	OpenEnd   bool
	Geom      orb.Geometry
}

// Str, Num, Bool, Time and Geom make Values.
func Str(s string) Value             { return Value{Kind: String, Str: s} }
func Num(n float64) Value            { return Value{Kind: Number, Num: n} }
func Bool(b bool) Value              { return Value{Kind: Boolean, Bool: b} }
func TimeValue(t time.Time) Value    { return Value{Kind: Timestamp, Time: t} }
func GeomValue(g orb.Geometry) Value { return Value{Kind: Geometry, Geom: g} }
func nullValue() Value               { return Value{} }
func (v Value) isNull() bool         { return v.Kind == Null }
func (v Value) String() string       { return describe(v) }
func dateValue(t time.Time) Value    { return Value{Kind: Date, Time: t} }
func intervalValue(a, b Value) Value {
	return Value{Kind: Interval, Time: a.Time, End: b.Time, OpenStart: a.isNull(), OpenEnd: b.isNull()}
}
func (v Value) comparableWith(w Value) bool {
	return v.Kind == w.Kind || v.Kind == Timestamp && w.Kind == Date || v.Kind == Date && w.Kind == Timestamp
}

// describe writes a value for error messages.
func describe(v Value) string {
	switch v.Kind {
	case String:
		return fmt.Sprintf("'%s'", v.Str)
	case Number:
		return fmt.Sprint(v.Num)
	case Boolean:
		return fmt.Sprint(v.Bool)
	case Timestamp:
		return "TIMESTAMP('" + v.Time.UTC().Format(time.RFC3339Nano) + "')"
	case Date:
		return "DATE('" + v.Time.Format(time.DateOnly) + "')"
	case Interval:
		return "INTERVAL(...)"
	case Geometry:
		return "a geometry"
	}
	return "NULL"
}

// Node is a node of a filter's syntax tree. Op says what it is:
//
//	"property"  Name is the property
//	"literal"   Value is the literal
//	"and", "or" Args are two or more conditions
//	"not"       Args[0] is the condition
//	"=", "<>", "<", "<=", ">", ">="  Args are the two operands
//	"like"      Args are the string and the pattern (% any, _ one, \ escapes)
//	"between"   Args are the value, the low and the high end (inclusive)
//	"in"        Args[0] is the value, Args[1:] the list
//	"isNull"    Args[0] is the value
//	"casei"     Args[0] is a string made case-insensitive (lower case)
//	"interval"  Args are the ends of an interval made of properties
//	"s_intersects", "s_disjoint"  Args are two geometries
//	"t_after", …, "t_starts"      Args are two temporal values
type Node struct {
	Op    string
	Name  string
	Value Value
	Args  []*Node
}

// Prop and Lit make leaf nodes.
func Prop(name string) *Node { return &Node{Op: "property", Name: name} }
func Lit(v Value) *Node      { return &Node{Op: "literal", Value: v} }

// Error is a filter that cannot be read or checked: Msg says what is wrong
// and, for the text encoding, Pos is the byte offset where it was found (-1
// when it is not about one place).
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string {
	if e.Pos >= 0 {
		return fmt.Sprintf("at character %d: %s", e.Pos+1, e.Msg)
	}
	return e.Msg
}

func errorf(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// comparisons are the binary comparison operators.
var comparisons = map[string]bool{"=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true}

// spatialOps are the spatial functions implemented; the others of CQL2
// are known so that the error can name them.
var spatialOps = map[string]bool{"s_intersects": true, "s_disjoint": true}
var otherSpatialOps = map[string]bool{"s_contains": true, "s_crosses": true, "s_equals": true, "s_overlaps": true,
	"s_touches": true, "s_within": true}

// temporalOps are the temporal functions, all implemented.
var temporalOps = map[string]bool{"t_after": true, "t_before": true, "t_contains": true, "t_disjoint": true,
	"t_during": true, "t_equals": true, "t_finishedby": true, "t_finishes": true, "t_intersects": true,
	"t_meets": true, "t_metby": true, "t_overlappedby": true, "t_overlaps": true, "t_startedby": true, "t_starts": true}

// unsupported are CQL2 operators this package refuses, by name.
var unsupported = map[string]string{"a_equals": "array functions", "a_contains": "array functions",
	"a_containedby": "array functions", "a_overlaps": "array functions", "accenti": "ACCENTI",
	"+": "arithmetic", "-": "arithmetic", "*": "arithmetic", "/": "arithmetic", "%": "arithmetic",
	"div": "arithmetic", "^": "arithmetic"}

// Queryables maps each property a filter may name to its type.
type Queryables map[string]Type

// names lists the queryables in order, for error messages.
func (q Queryables) names() string {
	out := make([]string, 0, len(q))
	for n := range q {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Properties returns the property names a filter refers to, sorted, each
// once.
func (n *Node) Properties() []string {
	seen := map[string]bool{}
	var walk func(*Node)
	walk = func(n *Node) {
		if n.Op == "property" {
			seen[n.Name] = true
		}
		for _, a := range n.Args {
			walk(a)
		}
	}
	walk(n)
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// MapGeometries replaces every geometry literal g by f(g), to bring
// literals given in another CRS (filter-crs) into the features' CRS. An
// error from f is returned as is.
func (n *Node) MapGeometries(f func(orb.Geometry) (orb.Geometry, error)) error {
	if n.Op == "literal" && n.Value.Kind == Geometry {
		g, err := f(n.Value.Geom)
		if err != nil {
			return err
		}
		n.Value.Geom = g
	}
	for _, a := range n.Args {
		if err := a.MapGeometries(f); err != nil {
			return err
		}
	}
	return nil
}
