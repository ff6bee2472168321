package cql2

import (
	"time"
)

// Check verifies a parsed filter against the queryables of a collection:
// every property must be a queryable (an unknown one is an error naming it
// and listing the queryables), every operator must get operands of types
// it works on, and the whole filter must be a condition. A string literal
// compared with a timestamp property is read as a timestamp when it is
// one ('2026-11-01T08:00:00Z'), as GDAL's OAPIF driver writes them.
// Check may rewrite such literals in place.
func Check(n *Node, q Queryables) error {
	t, err := typeOf(n, q)
	if err != nil {
		return err
	}
	if t != Boolean {
		return errorf(-1, "the filter is a %s, not a condition: compare it with something", t)
	}
	return nil
}

// typeOf returns the type of n's value, checking its operands.
func typeOf(n *Node, q Queryables) (Type, error) {
	switch n.Op {
	case "property":
		t, ok := q[n.Name]
		if !ok {
			return 0, errorf(-1, "unknown property %q: the queryables are %s", clip(n.Name), q.names())
		}
		return t, nil
	case "literal":
		return n.Value.Kind, nil
	}
	types := make([]Type, len(n.Args))
	for i, a := range n.Args {
		t, err := typeOf(a, q)
		if err != nil {
			return 0, err
		}
		types[i] = t
	}
	switch {
	case n.Op == "and" || n.Op == "or" || n.Op == "not":
		for i, t := range types {
			if t != Boolean {
				return 0, errorf(-1, "%s: argument %d is a %s, want a condition", n.Op, i+1, t)
			}
		}
	case n.Op == "casei":
		if types[0] != String {
			return 0, errorf(-1, "CASEI: got a %s, want a string", types[0])
		}
		return String, nil
	case comparisons[n.Op]:
		a, b := coerce(n, 0, 1, types)
		if a != b && !(a == Timestamp && b == Date || a == Date && b == Timestamp) && a != Null && b != Null {
			return 0, errorf(-1, "%s compares a %s with a %s", n.Op, a, b)
		}
		if a == Geometry || b == Geometry || a == Interval || b == Interval {
			return 0, errorf(-1, "%s cannot compare a %s: use S_INTERSECTS or a T_ function", n.Op, max(a, b))
		}
		if (a == Boolean || b == Boolean) && n.Op != "=" && n.Op != "<>" {
			return 0, errorf(-1, "%s cannot order booleans: use = or <>", n.Op)
		}
	case n.Op == "like":
		for i, t := range types {
			if t != String {
				return 0, errorf(-1, "LIKE: argument %d is a %s, want a string", i+1, t)
			}
		}
	case n.Op == "between":
		coerce(n, 0, 1, types)
		coerce(n, 0, 2, types)
		for i, t := range types {
			if t != Number && t != Timestamp && t != Date {
				return 0, errorf(-1, "BETWEEN: argument %d is a %s, want a number or a time", i+1, t)
			}
		}
		if (types[0] == Number) != (types[1] == Number) || (types[0] == Number) != (types[2] == Number) {
			return 0, errorf(-1, "BETWEEN mixes numbers and times")
		}
	case n.Op == "in":
		for i := 1; i < len(types); i++ {
			a, b := coerce(n, 0, i, types)
			if a != b && b != Null {
				return 0, errorf(-1, "IN: item %d is a %s, want a %s like the value", i, b, a)
			}
			if a == Geometry || a == Interval {
				return 0, errorf(-1, "IN cannot compare a %s", a)
			}
		}
	case n.Op == "interval":
		for i := range types {
			coerceTime(n, i, types)
			if t := types[i]; t != Timestamp && t != Date && !(t == String && n.Args[i].Op == "literal" && n.Args[i].Value.Str == "..") {
				return 0, errorf(-1, "INTERVAL: end %d is a %s, want a timestamp, a date or '..'", i+1, t)
			}
		}
		return Interval, nil
	case n.Op == "isNull":
	case spatialOps[n.Op]:
		for i, t := range types {
			if t != Geometry {
				return 0, errorf(-1, "%s: argument %d is a %s, want a geometry", n.Op, i+1, t)
			}
		}
	case temporalOps[n.Op]:
		for i := range types {
			coerceTime(n, i, types)
			if t := types[i]; t != Timestamp && t != Date && t != Interval {
				return 0, errorf(-1, "%s: argument %d is a %s, want a timestamp, a date or an interval", n.Op, i+1, t)
			}
		}
	default:
		return 0, errorf(-1, "unknown operator %q", clip(n.Op))
	}
	return Boolean, nil
}

// coerce turns a string literal at argument j (or i) into a timestamp
// when the other argument is a timestamp, and returns the two types.
func coerce(n *Node, i, j int, types []Type) (Type, Type) {
	if types[i] == Timestamp || types[i] == Date {
		coerceTime(n, j, types)
	}
	if types[j] == Timestamp || types[j] == Date {
		coerceTime(n, i, types)
	}
	return types[i], types[j]
}

// coerceTime reads a string literal argument as a timestamp (or a date)
// when it is one.
func coerceTime(n *Node, i int, types []Type) {
	a := n.Args[i]
	if a.Op != "literal" || a.Value.Kind != String {
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, a.Value.Str); err == nil {
		a.Value, types[i] = TimeValue(t), Timestamp
	} else if t, err := time.Parse(time.DateOnly, a.Value.Str); err == nil {
		a.Value, types[i] = dateValue(t), Date
	}
}
