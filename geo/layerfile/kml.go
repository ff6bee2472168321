package layerfile

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"wangge/geo/gbtext"
)

// node is an element of a Placemark: its local name (namespace dropped,
// so KML 2.0, 2.1, 2.2 and gx: elements all match), attributes, children
// and character data.
type node struct {
	name  string
	attrs []xml.Attr
	kids  []*node
	text  []byte
	line  int
	// ring and bad are what a coordinates element holds, parsed at its
	// end (and its text dropped) so that a Placemark holds positions, not
	// the text of them.
	ring orb.Ring
	bad  string
}

func (n *node) attr(name string) string {
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *node) child(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (n *node) childText(name string) string {
	if c := n.child(name); c != nil {
		return strings.TrimSpace(string(c.text))
	}
	return ""
}

// kmlKept are the elements of a Placemark that kmlPlacemark reads. Others
// (Style, TimeStamp, LookAt...) are counted and skipped with everything
// inside them, so that they cost no memory.
var kmlKept = map[string]bool{
	"ExtendedData": true, "Data": true, "value": true, "SchemaData": true, "SimpleData": true,
	"name": true, "description": true, "MultiGeometry": true, "Polygon": true,
	"outerBoundaryIs": true, "innerBoundaryIs": true, "LinearRing": true, "coordinates": true,
	"Point": true, "LineString": true, "Model": true, "Track": true, "MultiTrack": true,
}

// kmlReader reads Placemarks from a stream of XML tokens, holding one
// Placemark's elements at a time, within the limits: MaxXMLElements and
// MaxXMLDepth for the document, MaxFeatures and MaxVertices for what is
// read.
type kmlReader struct {
	p        *problems
	where    string
	vertices int // positions read so far
}

// read returns the features, or false after adding a problem.
func (k *kmlReader) read(r io.Reader) ([]rawFeature, bool) {
	g := &tokenGuard{r: r, limit: k.p.lim.MaxXMLText}
	br := bufio.NewReader(g)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	dec := xml.NewDecoder(br)
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	dec.CharsetReader = charsetReader
	lim := k.p.lim
	var (
		features []rawFeature
		depth    int     // of the element being read
		roots    int     // top-level elements
		elements int     // seen so far
		pm       []*node // the Placemark being read and its kept elements, innermost last
		pmDepth  int     // depth of the Placemark
		skip     int     // depth of a skipped element inside the Placemark, or 0
	)
	for {
		tok, err := dec.Token()
		var zerr zipReadError
		switch {
		case err == io.EOF:
		case g.hit:
			line, _ := dec.InputPos()
			k.p.tooLarge(k.where, "MaxXMLText", "a run of text or a tag longer than %s (line %d)", sizeText(g.limit), line)
			return nil, false
		case errors.As(err, &zerr):
			k.p.add(k.where, "cannot be read (truncated or damaged zip?): %v", zerr.err)
			return nil, false
		case err != nil:
			k.p.add(k.where, "%v", describeXMLError(err))
			return nil, false
		}
		if err == io.EOF {
			break
		}
		g.mark = g.n - int64(br.Buffered()) // where the decoder is, in bytes of r
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			elements++
			line, _ := dec.InputPos()
			switch {
			case elements > lim.MaxXMLElements:
				k.p.tooLarge(k.where, "MaxXMLElements", "more than %d XML elements (line %d)", lim.MaxXMLElements, line)
				return nil, false
			case depth > lim.MaxXMLDepth:
				k.p.tooLarge(k.where, "MaxXMLDepth", "elements nested more than %d deep (line %d)", lim.MaxXMLDepth, line)
				return nil, false
			case depth == 1:
				if roots++; roots > 1 || t.Name.Local != "kml" {
					k.p.add(k.where, "not a KML document: want a <kml> root element")
					return nil, false
				}
			case pm == nil && t.Name.Local == "Placemark":
				if len(features) == lim.MaxFeatures {
					k.p.tooLarge(k.where, "MaxFeatures", "more than %d Placemarks (line %d)", lim.MaxFeatures, line)
					return nil, false
				}
				pm, pmDepth = []*node{{name: t.Name.Local, line: line}}, depth
			case pm != nil && skip == 0:
				if !kmlKept[t.Name.Local] {
					skip = depth
					break
				}
				n := &node{name: t.Name.Local, attrs: t.Attr, line: line}
				top := pm[len(pm)-1]
				top.kids = append(top.kids, n)
				pm = append(pm, n)
			}
		case xml.EndElement:
			switch {
			case skip == depth:
				skip = 0
			case pm != nil && skip == 0 && depth == pmDepth:
				features = append(features, kmlPlacemark(len(features), pm[0]))
				pm = nil
			case pm != nil && skip == 0:
				if n := pm[len(pm)-1]; n.name == "coordinates" {
					var over bool
					n.ring, n.bad, over = kmlCoordinates(n.text, lim.MaxVertices-k.vertices)
					if over {
						k.p.tooLarge(k.where, "MaxVertices", "more than %d positions (line %d)", lim.MaxVertices, n.line)
						return nil, false
					}
					k.vertices += len(n.ring)
					n.text = nil
				}
				pm = pm[:len(pm)-1]
			}
			depth--
		case xml.CharData:
			if pm != nil && skip == 0 && len(pm) > 1 {
				top := pm[len(pm)-1]
				top.text = append(top.text, t...)
			}
		}
	}
	if depth != 0 {
		k.p.add(k.where, "the XML ends inside an element (truncated?)")
		return nil, false
	}
	if roots == 0 {
		k.p.add(k.where, "not a KML document: want a <kml> root element")
		return nil, false
	}
	return features, true
}

// tokenGuard lets the XML decoder read at most limit bytes past the end
// of the last token (mark, in bytes of the underlying reader), so that one
// token, which the decoder holds whole, cannot grow past the limit.
type tokenGuard struct {
	r       io.Reader
	n, mark int64
	limit   int64
	hit     bool
}

func (g *tokenGuard) Read(b []byte) (int, error) {
	if g.n-g.mark > g.limit {
		g.hit = true
		return 0, errors.New("token too long")
	}
	n, err := g.r.Read(b)
	g.n += int64(n)
	return n, err
}

// zipReadError is an error reading a zip member, told apart from the
// errors of the XML in it.
type zipReadError struct{ err error }

func (e zipReadError) Error() string { return e.err.Error() }

// zipReader tags the errors of a zip member's reader as zipReadError.
type zipReader struct{ r io.Reader }

func (z zipReader) Read(b []byte) (int, error) {
	n, err := z.r.Read(b)
	if err != nil && err != io.EOF {
		err = zipReadError{err}
	}
	return n, err
}

func describeXMLError(err error) error {
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		if syn.Msg == "unexpected EOF" {
			return fmt.Errorf("malformed XML at line %d: the file ends inside an element (truncated?)", syn.Line)
		}
		return fmt.Errorf("malformed XML at line %d: %s", syn.Line, syn.Msg)
	}
	return fmt.Errorf("malformed XML: %v", err)
}

// charsetReader decodes the Chinese encodings some KML writers declare.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	if gbtext.IsGBK(charset) {
		return gbtext.NewReader(input), nil
	}
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	}
	return nil, fmt.Errorf("encoding %q: want UTF-8 or GBK", charset)
}

// readKML reads the Placemarks of a KML document, wherever they are
// (Document, Folder, nested Folders).
func readKML(p *problems, data []byte) raw {
	return readKMLAs(p, p.file, bytes.NewReader(data))
}

// readKMLAs reads a KML document as it streams from r.
func readKMLAs(p *problems, where string, r io.Reader) raw {
	k := &kmlReader{p: p, where: where}
	features, ok := k.read(r)
	if !ok {
		return raw{format: KML, where: where}
	}
	return raw{format: KML, where: where, features: features}
}

// maxReasons caps the geometry problems kept for one feature; the rest
// are counted.
const maxReasons = 20

// reasonList collects a feature's geometry problems, at most maxReasons.
type reasonList struct {
	list []string
	more int
}

func (r *reasonList) add(s ...string) {
	for _, x := range s {
		if len(r.list) < maxReasons {
			r.list = append(r.list, x)
		} else {
			r.more++
		}
	}
}

func (r *reasonList) done() []string {
	if r.more > 0 {
		return append(r.list, fmt.Sprintf("and %d more geometry problems", r.more))
	}
	return r.list
}

// placemark reads one Placemark: its attributes from ExtendedData
// (Data/value and SchemaData/SimpleData), its name and description, and
// its polygons.
func kmlPlacemark(i int, pm *node) rawFeature {
	f := rawFeature{index: i}
	has := map[string]bool{}
	if ed := pm.child("ExtendedData"); ed != nil {
		for _, k := range ed.kids {
			switch k.name {
			case "Data":
				if k.attr("name") != "" {
					f.attrs = append(f.attrs, attr{k.attr("name"), k.childText("value")})
					has[k.attr("name")] = true
				}
			case "SchemaData":
				for _, sd := range k.kids {
					if sd.name == "SimpleData" && sd.attr("name") != "" {
						f.attrs = append(f.attrs, attr{sd.attr("name"), strings.TrimSpace(string(sd.text))})
						has[sd.attr("name")] = true
					}
				}
			}
		}
	}
	var own []attr // the Placemark's name and description, first
	for _, tag := range []string{"name", "description"} {
		if c := pm.child(tag); c != nil && !has[tag] {
			own = append(own, attr{tag, strings.TrimSpace(string(c.text))})
		}
	}
	f.attrs = append(own, f.attrs...)
	var found []string
	var reasons reasonList
	var collect func(n *node, prefix string)
	collect = func(n *node, prefix string) {
		for _, c := range n.kids {
			switch c.name {
			case "Polygon":
				f.geom = append(f.geom, kmlPolygon(c, fmt.Sprintf("%spolygon %d ", prefix, len(f.geom)), &reasons))
			case "MultiGeometry":
				collect(c, prefix)
			case "Point", "LineString", "LinearRing", "Model", "Track", "MultiTrack":
				if len(found) < maxReasons {
					found = append(found, c.name)
				}
			}
		}
	}
	collect(pm, "")
	switch {
	case len(found) > 0:
		reasons.add(fmt.Sprintf("geometry type %s (line %d): want Polygon, or a MultiGeometry of Polygons", strings.Join(found, ", "), pm.line))
	case len(f.geom) == 0:
		reasons.add(fmt.Sprintf("Placemark at line %d has no Polygon", pm.line))
	}
	f.reasons = reasons.done()
	if len(f.geom) == 1 {
		f.reasons = trimPrefixes(f.reasons, "polygon 0 ")
	}
	return f
}

func trimPrefixes(reasons []string, prefix string) []string {
	for i := range reasons {
		reasons[i] = strings.TrimPrefix(reasons[i], prefix)
	}
	return reasons
}

// polygon reads outerBoundaryIs and innerBoundaryIs rings; an
// innerBoundaryIs may hold several LinearRings (older writers do that).
// The rings were parsed at the end of their coordinates elements.
func kmlPolygon(n *node, prefix string, reasons *reasonList) orb.Polygon {
	var poly orb.Polygon
	ring := func(lr *node) {
		where := fmt.Sprintf("%sring %d", prefix, len(poly))
		c := lr.child("coordinates")
		if c == nil {
			reasons.add(where + ": LinearRing has no coordinates")
			poly = append(poly, nil)
			return
		}
		if c.bad != "" {
			reasons.add(fmt.Sprintf("%s (line %d): %s", where, c.line, c.bad))
		}
		poly = append(poly, c.ring)
	}
	outer := n.child("outerBoundaryIs")
	if outer == nil || outer.child("LinearRing") == nil {
		reasons.add(fmt.Sprintf("Polygon at line %d has no outerBoundaryIs/LinearRing", n.line))
		return nil
	}
	ring(outer.child("LinearRing"))
	for _, c := range n.kids {
		if c.name != "innerBoundaryIs" {
			continue
		}
		for _, lr := range c.kids {
			if lr.name == "LinearRing" {
				ring(lr)
			}
		}
	}
	return poly
}

// kmlCoordinates parses "lon,lat[,alt] lon,lat[,alt] …". Whitespace
// separates tuples; a space after a comma (which some writers emit) is
// tolerated. It returns a message naming the bad tuple, if any, and over
// when there are more than max positions.
func kmlCoordinates(text []byte, max int) (ring orb.Ring, reason string, over bool) {
	var tuple []byte // the tuple being gathered, which may span fields
	k := 0
	parse := func() string {
		t := string(tuple)
		parts := strings.Split(t, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return fmt.Sprintf("position %d: got %q, want lon,lat or lon,lat,alt", k, truncate(t))
		}
		lon, err1 := strconv.ParseFloat(parts[0], 64)
		lat, err2 := strconv.ParseFloat(parts[1], 64)
		if err1 != nil || err2 != nil {
			return fmt.Sprintf("position %d: got %q, want two numbers lon,lat", k, truncate(t))
		}
		ring = append(ring, orb.Point{lon, lat})
		k++
		return ""
	}
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRune(text[i:])
		if unicode.IsSpace(r) {
			i += n
			continue
		}
		j := i
		for j < len(text) {
			r, n := utf8.DecodeRune(text[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += n
		}
		field := text[i:j]
		i = j
		if len(tuple) > 0 && (tuple[len(tuple)-1] == ',' || field[0] == ',') {
			tuple = append(tuple, field...)
			continue
		}
		if len(tuple) > 0 {
			if msg := parse(); msg != "" {
				return nil, msg, false
			}
			if len(ring) > max {
				return nil, "", true
			}
		}
		tuple = append(tuple[:0], field...)
	}
	if len(tuple) > 0 {
		if msg := parse(); msg != "" {
			return nil, msg, false
		}
	}
	if len(ring) > max {
		return nil, "", true
	}
	return ring, "", false
}
