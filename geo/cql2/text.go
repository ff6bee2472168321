package cql2

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// This file reads the text encoding (cql2-text).

// tokKind is the kind of a token of cql2-text.
type tokKind int

const (
	tEOF    tokKind = iota
	tIdent          // a name or keyword (case kept; keywords compare case-insensitively)
	tQuoted         // a "double-quoted" property name
	tString         // a 'single-quoted' string, quotes removed and '' unescaped
	tNumber
	tOp // = <> < <= > >= ( ) , and the arithmetic signs
)

type token struct {
	kind tokKind
	text string
	num  float64
	pos  int
}

// lex splits s into tokens.
func lex(s string) ([]token, error) {
	if !utf8.ValidString(s) {
		return nil, errorf(-1, "the filter is not valid UTF-8")
	}
	var out []token
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return nil, errorf(i, "the filter is not valid UTF-8")
		case unicode.IsSpace(r):
			i += size
		case r == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, errorf(i, "a string starting here has no closing quote (')")
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{kind: tString, text: b.String(), pos: i})
			i = j + 1
		case r == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, errorf(i, "a quoted property name starting here has no closing quote (\")")
			}
			out = append(out, token{kind: tQuoted, text: s[i+1 : i+1+j], pos: i})
			i += j + 2
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				(s[j] == '+' || s[j] == '-') && j > i && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
			n, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil {
				return nil, errorf(i, "%q is not a number", s[i:j])
			}
			out = append(out, token{kind: tNumber, text: s[i:j], num: n, pos: i})
			i = j
		case unicode.IsLetter(r) || r == '_':
			j := i
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == ':') {
					break
				}
				j += size
			}
			out = append(out, token{kind: tIdent, text: s[i:j], pos: i})
			i = j
		default:
			for _, op := range []string{"<>", "<=", ">=", "=", "<", ">", "(", ")", ",", "+", "-", "*", "/", "%", "^"} {
				if strings.HasPrefix(s[i:], op) {
					out = append(out, token{kind: tOp, text: op, pos: i})
					i += len(op)
					goto next
				}
			}
			return nil, errorf(i, "unexpected character %q", r)
		next:
		}
	}
	return append(out, token{kind: tEOF, pos: len(s)}), nil
}

// textParser is a recursive-descent parser over the tokens of one filter.
type textParser struct {
	toks  []token
	i     int
	depth int
	nodes int
}

// ParseText reads a filter in the text encoding.
func ParseText(s string) (*Node, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &textParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, errorf(t.pos, "unexpected %s after the end of the filter", t.describe())
	}
	return n, nil
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of the filter"
	case tString:
		return "string '" + t.text + "'"
	case tQuoted:
		return `"` + t.text + `"`
	}
	return "'" + t.text + "'"
}

func (p *textParser) peek() token { return p.toks[p.i] }
func (p *textParser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// keyword reports whether the next token is the keyword kw, and consumes
// it if so.
func (p *textParser) keyword(kw string) bool {
	if t := p.peek(); t.kind == tIdent && strings.EqualFold(t.text, kw) {
		p.i++
		return true
	}
	return false
}

func (p *textParser) op(op string) bool {
	if t := p.peek(); t.kind == tOp && t.text == op {
		p.i++
		return true
	}
	return false
}

func (p *textParser) expect(op string) error {
	if !p.op(op) {
		t := p.peek()
		return errorf(t.pos, "want '%s', got %s", op, t.describe())
	}
	return nil
}

// node makes a node, counting it against MaxNodes.
func (p *textParser) node(n *Node) (*Node, error) {
	p.nodes++
	if p.nodes > MaxNodes {
		return nil, errorf(p.peek().pos, "the filter has more than %d terms", MaxNodes)
	}
	return n, nil
}

// enter counts a nesting level against MaxDepth; leave undoes it.
func (p *textParser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return errorf(p.peek().pos, "the filter nests deeper than %d levels", MaxDepth)
	}
	return nil
}
func (p *textParser) leave() { p.depth-- }

func (p *textParser) or() (*Node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		m, err := p.and()
		if err != nil {
			return nil, err
		}
		if n.Op == "or" {
			n.Args = append(n.Args, m)
		} else if n, err = p.node(&Node{Op: "or", Args: []*Node{n, m}}); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *textParser) and() (*Node, error) {
	n, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		m, err := p.not()
		if err != nil {
			return nil, err
		}
		if n.Op == "and" {
			n.Args = append(n.Args, m)
		} else if n, err = p.node(&Node{Op: "and", Args: []*Node{n, m}}); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *textParser) not() (*Node, error) {
	if p.keyword("NOT") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		n, err := p.not()
		if err != nil {
			return nil, err
		}
		return p.node(&Node{Op: "not", Args: []*Node{n}})
	}
	return p.predicate()
}

// predicate reads a parenthesized condition, or an operand followed by a
// comparison, LIKE, BETWEEN, IN or IS NULL, or an operand that is a
// condition by itself (a spatial or temporal function, TRUE, a property).
func (p *textParser) predicate() (*Node, error) {
	if t := p.peek(); t.kind == tOp && t.text == "(" {
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		return n, p.expect(")")
	}
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind == tOp && comparisons[t.text] {
		p.next()
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		return p.node(&Node{Op: t.text, Args: []*Node{left, right}})
	}
	if t.kind == tOp && unsupported[t.text] != "" {
		return nil, errorf(t.pos, "'%s': %s are not supported", t.text, unsupported[t.text])
	}
	negate := p.keyword("NOT")
	var n *Node
	switch {
	case p.keyword("LIKE"):
		n, err = p.binary("like", left)
	case p.keyword("ILIKE"):
		// ILIKE is not CQL2 but GDAL's OAPIF driver sends it: read it as
		// CASEI(a) LIKE CASEI(b).
		n, err = p.binary("like", &Node{Op: "casei", Args: []*Node{left}})
		if err == nil {
			n.Args[1] = &Node{Op: "casei", Args: []*Node{n.Args[1]}}
		}
	case p.keyword("BETWEEN"):
		var lo, hi *Node
		if lo, err = p.operand(); err != nil {
			return nil, err
		}
		if !p.keyword("AND") {
			return nil, errorf(p.peek().pos, "BETWEEN: want AND, got %s", p.peek().describe())
		}
		if hi, err = p.operand(); err != nil {
			return nil, err
		}
		n, err = p.node(&Node{Op: "between", Args: []*Node{left, lo, hi}})
	case p.keyword("IN"):
		if err := p.expect("("); err != nil {
			return nil, err
		}
		n = &Node{Op: "in", Args: []*Node{left}}
		for {
			item, err := p.operand()
			if err != nil {
				return nil, err
			}
			if _, err := p.node(item); err != nil {
				return nil, err
			}
			n.Args = append(n.Args, item)
			if !p.op(",") {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	case !negate && p.keyword("IS"):
		negate = p.keyword("NOT")
		if !p.keyword("NULL") {
			return nil, errorf(p.peek().pos, "IS: want NULL or NOT NULL, got %s", p.peek().describe())
		}
		n, err = p.node(&Node{Op: "isNull", Args: []*Node{left}})
	default:
		if negate {
			return nil, errorf(p.peek().pos, "NOT after an operand: want NOT LIKE, NOT BETWEEN or NOT IN, got %s", p.peek().describe())
		}
		return left, nil
	}
	if err != nil {
		return nil, err
	}
	if negate {
		return p.node(&Node{Op: "not", Args: []*Node{n}})
	}
	return n, nil
}

func (p *textParser) binary(op string, left *Node) (*Node, error) {
	right, err := p.operand()
	if err != nil {
		return nil, err
	}
	return p.node(&Node{Op: op, Args: []*Node{left, right}})
}

// operand reads a literal, a property or a function call.
func (p *textParser) operand() (*Node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.next()
	switch t.kind {
	case tString:
		return p.node(Lit(Str(t.text)))
	case tNumber:
		return p.node(Lit(Num(t.num)))
	case tQuoted:
		return p.node(Prop(t.text))
	case tOp:
		if t.text == "-" || t.text == "+" {
			if n := p.peek(); n.kind == tNumber {
				p.next()
				if t.text == "-" {
					return p.node(Lit(Num(-n.num)))
				}
				return p.node(Lit(Num(n.num)))
			}
		}
		if t.text == "(" {
			return nil, errorf(t.pos, "parentheses around an operand are not supported (no arithmetic)")
		}
		return nil, errorf(t.pos, "want a property, a literal or a function, got %s", t.describe())
	case tEOF:
		return nil, errorf(t.pos, "the filter ends where an operand is expected")
	}
	word := strings.ToUpper(t.text)
	switch word {
	case "TRUE", "FALSE":
		return p.node(Lit(Bool(word == "TRUE")))
	case "NULL":
		return p.node(Lit(nullValue()))
	case "AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS":
		return nil, errorf(t.pos, "want an operand, got the keyword %s", word)
	}
	if !p.op("(") {
		return p.node(Prop(t.text))
	}
	lower := strings.ToLower(t.text)
	switch {
	case word == "TIMESTAMP" || word == "DATE":
		s := p.next()
		if s.kind != tString {
			return nil, errorf(s.pos, "%s: want a quoted string, got %s", word, s.describe())
		}
		v, err := temporalLiteral(word, s.text)
		if err != nil {
			return nil, errorf(s.pos, "%s", err.Error())
		}
		return p.lit(v)
	case word == "INTERVAL" && p.peek().kind != tString:
		// INTERVAL(starts_at, ends_at): the ends are properties.
		a, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		b, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return p.node(&Node{Op: "interval", Args: []*Node{a, b}})
	case word == "INTERVAL":
		var ends [2]Value
		for k := range ends {
			if k == 1 {
				if err := p.expect(","); err != nil {
					return nil, err
				}
			}
			s := p.next()
			switch {
			case s.kind == tString && s.text == "..":
				ends[k] = nullValue()
			case s.kind == tString:
				v, err := instantLiteral(s.text)
				if err != nil {
					return nil, errorf(s.pos, "INTERVAL: %s", err.Error())
				}
				ends[k] = v
			default:
				return nil, errorf(s.pos, "INTERVAL: want a quoted date, time or '..', got %s", s.describe())
			}
		}
		v, err := makeInterval(ends[0], ends[1])
		if err != nil {
			return nil, errorf(t.pos, "%s", err.Error())
		}
		return p.lit(v)
	case word == "BBOX":
		nums, err := p.numbers()
		if err != nil {
			return nil, err
		}
		g, err := bboxGeometry(nums)
		if err != nil {
			return nil, errorf(t.pos, "%s", err.Error())
		}
		return p.node(Lit(GeomValue(g)))
	case wktTypes[word]:
		p.i-- // wkt reads the parenthesis itself
		g, err := p.wkt(word)
		if err != nil {
			return nil, err
		}
		return p.node(Lit(GeomValue(g)))
	case lower == "casei":
		arg, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return p.node(&Node{Op: "casei", Args: []*Node{arg}})
	case spatialOps[lower] || temporalOps[lower]:
		a, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		b, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return p.node(&Node{Op: lower, Args: []*Node{a, b}})
	case otherSpatialOps[lower]:
		return nil, errorf(t.pos, "%s is not supported: the spatial functions are S_INTERSECTS and S_DISJOINT", word)
	case unsupported[lower] != "":
		return nil, errorf(t.pos, "%s is not supported (%s)", word, unsupported[lower])
	}
	return nil, errorf(t.pos, "unknown function %s", t.text)
}

func (p *textParser) lit(v Value) (*Node, error) {
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	return p.node(Lit(v))
}

// numbers reads "n, n, ...)" after an opening parenthesis.
func (p *textParser) numbers() ([]float64, error) {
	var out []float64
	for {
		n, err := p.number()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if !p.op(",") {
			break
		}
	}
	return out, p.expect(")")
}

// number reads a signed number.
func (p *textParser) number() (float64, error) {
	sign := 1.0
	if p.op("-") {
		sign = -1
	} else {
		p.op("+")
	}
	t := p.next()
	if t.kind != tNumber {
		return 0, errorf(t.pos, "want a number, got %s", t.describe())
	}
	return sign * t.num, nil
}

// wktTypes are the geometry literals of the text encoding.
var wktTypes = map[string]bool{"POINT": true, "LINESTRING": true, "POLYGON": true, "MULTIPOINT": true,
	"MULTILINESTRING": true, "MULTIPOLYGON": true, "GEOMETRYCOLLECTION": true}

// wkt reads the parenthesized body of a WKT geometry of the given type.
// Coordinates are two numbers: a Z or M is refused.
func (p *textParser) wkt(typ string) (orb.Geometry, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if t := p.peek(); t.kind == tIdent {
		return nil, errorf(t.pos, "%s %s: only two-dimensional coordinates are supported", typ, t.text)
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var g orb.Geometry
	var err error
	switch typ {
	case "POINT":
		var pt orb.Point
		pt, err = p.position()
		g = pt
	case "LINESTRING":
		var ls orb.LineString
		ls, err = p.positions()
		if err == nil && len(ls) < 2 {
			err = errorf(p.peek().pos, "a LINESTRING needs two positions or more")
		}
		g = ls
	case "POLYGON":
		g, err = p.polygonBody()
	case "MULTIPOINT":
		var mp orb.MultiPoint
		for {
			paren := p.op("(")
			pt, err := p.position()
			if err != nil {
				return nil, err
			}
			if paren {
				if err := p.expect(")"); err != nil {
					return nil, err
				}
			}
			mp = append(mp, pt)
			if !p.op(",") {
				break
			}
		}
		g = mp
	case "MULTILINESTRING":
		var ml orb.MultiLineString
		for {
			if err := p.expect("("); err != nil {
				return nil, err
			}
			ls, err := p.positions()
			if err != nil {
				return nil, err
			}
			if len(ls) < 2 {
				return nil, errorf(p.peek().pos, "a line of a MULTILINESTRING needs two positions or more")
			}
			ml = append(ml, ls)
			if !p.op(",") {
				break
			}
		}
		g = ml
	case "MULTIPOLYGON":
		var mp orb.MultiPolygon
		for {
			if err := p.expect("("); err != nil {
				return nil, err
			}
			poly, err := p.polygonBody()
			if err != nil {
				return nil, err
			}
			mp = append(mp, poly)
			if !p.op(",") {
				break
			}
		}
		g = mp
	case "GEOMETRYCOLLECTION":
		var gc orb.Collection
		for {
			t := p.next()
			word := strings.ToUpper(t.text)
			if t.kind != tIdent || !wktTypes[word] {
				return nil, errorf(t.pos, "GEOMETRYCOLLECTION: want a geometry, got %s", t.describe())
			}
			member, err := p.wkt(word)
			if err != nil {
				return nil, err
			}
			gc = append(gc, member)
			if !p.op(",") {
				break
			}
		}
		g = gc
	}
	if err != nil {
		return nil, err
	}
	if _, err := p.node(&Node{}); err != nil {
		return nil, err
	}
	if typ == "LINESTRING" || typ == "POLYGON" {
		return g, nil // positions and polygonBody read the closing parenthesis
	}
	return g, p.expect(")")
}

// polygonBody reads "(ring), (ring))" after the polygon's parenthesis.
func (p *textParser) polygonBody() (orb.Polygon, error) {
	var poly orb.Polygon
	for {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		ring, err := p.positions()
		if err != nil {
			return nil, err
		}
		if err := checkRing(ring); err != nil {
			return nil, errorf(p.peek().pos, "%s", err.Error())
		}
		poly = append(poly, orb.Ring(ring))
		if !p.op(",") {
			break
		}
	}
	return poly, p.expect(")")
}

// positions reads "x y, x y, ...)" after an opening parenthesis.
func (p *textParser) positions() (orb.LineString, error) {
	var ls orb.LineString
	for {
		pt, err := p.position()
		if err != nil {
			return nil, err
		}
		ls = append(ls, pt)
		if len(ls) > MaxNodes {
			return nil, errorf(p.peek().pos, "more than %d positions", MaxNodes)
		}
		if !p.op(",") {
			break
		}
	}
	return ls, p.expect(")")
}

func (p *textParser) position() (orb.Point, error) {
	x, err := p.number()
	if err != nil {
		return orb.Point{}, err
	}
	y, err := p.number()
	if err != nil {
		return orb.Point{}, err
	}
	if t := p.peek(); t.kind == tNumber || t.kind == tOp && (t.text == "-" || t.text == "+") {
		return orb.Point{}, errorf(t.pos, "only two-dimensional coordinates are supported")
	}
	return orb.Point{x, y}, nil
}

// temporalLiteral reads the string of TIMESTAMP('…') or DATE('…').
func temporalLiteral(kind, s string) (Value, error) {
	if kind == "DATE" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return Value{}, errorf(-1, "DATE('%s'): want YYYY-MM-DD", s)
		}
		return dateValue(t), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Value{}, errorf(-1, "TIMESTAMP('%s'): want an RFC 3339 time such as 2026-11-01T08:00:00Z", s)
	}
	return TimeValue(t), nil
}

// instantLiteral reads an end of an interval: a date or a timestamp.
func instantLiteral(s string) (Value, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return dateValue(t), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return TimeValue(t), nil
	}
	return Value{}, errorf(-1, "'%s': want a date (YYYY-MM-DD), an RFC 3339 time or '..'", s)
}

// makeInterval joins two ends (null: open); a date as the end means the
// end of that day.
func makeInterval(a, b Value) (Value, error) {
	if b.Kind == Date {
		b = TimeValue(b.Time.Add(24*time.Hour - time.Nanosecond))
	}
	v := intervalValue(a, b)
	if !v.OpenStart && !v.OpenEnd && v.End.Before(v.Time) {
		return Value{}, errorf(-1, "the interval ends before it starts")
	}
	return v, nil
}

// bboxGeometry makes the polygon of a BBOX: 4 numbers (minx, miny, maxx,
// maxy) or 6 (with heights, which are dropped).
func bboxGeometry(n []float64) (orb.Geometry, error) {
	switch len(n) {
	case 4:
	case 6:
		n = []float64{n[0], n[1], n[3], n[4]}
	default:
		return nil, errorf(-1, "BBOX: got %d numbers, want 4 (minx, miny, maxx, maxy) or 6", len(n))
	}
	if n[0] > n[2] || n[1] > n[3] {
		return nil, errorf(-1, "BBOX: the minimum is above the maximum (crossing the antimeridian is not supported)")
	}
	return orb.Bound{Min: orb.Point{n[0], n[1]}, Max: orb.Point{n[2], n[3]}}.ToPolygon(), nil
}

// checkRing refuses rings that are not closed or have fewer than 4
// positions.
func checkRing(r []orb.Point) error {
	if len(r) < 4 {
		return errorf(-1, "a polygon ring needs 4 positions or more, got %d", len(r))
	}
	if r[0] != r[len(r)-1] {
		return errorf(-1, "a polygon ring must end where it starts")
	}
	return nil
}
