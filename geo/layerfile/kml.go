package layerfile

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"wangge/geo/gbtext"
)

// maxXMLDepth bounds the nesting of elements in a KML file.
const maxXMLDepth = 256

// node is an element of a parsed XML document: its local name (namespace
// dropped, so KML 2.0, 2.1, 2.2 and gx: elements all match), attributes,
// children and character data.
type node struct {
	name  string
	attrs []xml.Attr
	kids  []*node
	text  []byte
	line  int
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

// parseXML reads a whole document into a tree. Character data is kept
// only where KML has it (leaf elements), to spare memory.
func parseXML(data []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	dec.CharsetReader = charsetReader
	root := &node{name: "#document"}
	stack := []*node{root}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, describeXMLError(err)
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > maxXMLDepth {
				line, _ := dec.InputPos()
				return nil, fmt.Errorf("line %d: elements nested more than %d deep", line, maxXMLDepth)
			}
			line, _ := dec.InputPos()
			n := &node{name: t.Name.Local, attrs: t.Attr, line: line}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 1 {
				top.text = append(top.text, t...)
			}
		}
	}
	if len(stack) != 1 {
		return nil, errors.New("the XML ends inside an element (truncated?)")
	}
	return root, nil
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
	return readKMLAs(p, p.file, data)
}

func readKMLAs(p *problems, where string, data []byte) raw {
	r := raw{format: KML, where: where}
	root, err := parseXML(stripBOM(data))
	if err != nil {
		p.add(where, "%v", err)
		return r
	}
	if len(root.kids) != 1 || root.kids[0].name != "kml" {
		p.add(where, "not a KML document: want a <kml> root element")
		return r
	}
	var placemarks []*node
	var walk func(n *node)
	walk = func(n *node) {
		for _, k := range n.kids {
			if k.name == "Placemark" {
				placemarks = append(placemarks, k)
			} else {
				walk(k)
			}
		}
	}
	walk(root)
	for i, pm := range placemarks {
		r.features = append(r.features, kmlPlacemark(i, pm))
	}
	return r
}

// kmlPlacemark reads one Placemark: its attributes from ExtendedData
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
	var collect func(n *node, prefix string)
	collect = func(n *node, prefix string) {
		for _, k := range n.kids {
			switch k.name {
			case "Polygon":
				poly, reasons := kmlPolygon(k, fmt.Sprintf("%spolygon %d ", prefix, len(f.geom)))
				f.geom = append(f.geom, poly)
				f.reasons = append(f.reasons, reasons...)
			case "MultiGeometry":
				collect(k, prefix)
			case "Point", "LineString", "LinearRing", "Model", "Track", "MultiTrack":
				found = append(found, k.name)
			}
		}
	}
	collect(pm, "")
	switch {
	case len(found) > 0:
		f.reasons = append(f.reasons, fmt.Sprintf("geometry type %s (line %d): want Polygon, or a MultiGeometry of Polygons", strings.Join(found, ", "), pm.line))
	case len(f.geom) == 0:
		f.reasons = append(f.reasons, fmt.Sprintf("Placemark at line %d has no Polygon", pm.line))
	}
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

// kmlPolygon reads outerBoundaryIs and innerBoundaryIs rings; an
// innerBoundaryIs may hold several LinearRings (older writers do that).
func kmlPolygon(n *node, prefix string) (orb.Polygon, []string) {
	var poly orb.Polygon
	var reasons []string
	ring := func(lr *node) {
		where := fmt.Sprintf("%sring %d", prefix, len(poly))
		c := lr.child("coordinates")
		if c == nil {
			reasons = append(reasons, where+": LinearRing has no coordinates")
			poly = append(poly, nil)
			return
		}
		r, err := kmlCoordinates(c.text)
		if err != "" {
			reasons = append(reasons, fmt.Sprintf("%s (line %d): %s", where, c.line, err))
		}
		poly = append(poly, r)
	}
	outer := n.child("outerBoundaryIs")
	if outer == nil || outer.child("LinearRing") == nil {
		return nil, []string{fmt.Sprintf("Polygon at line %d has no outerBoundaryIs/LinearRing", n.line)}
	}
	ring(outer.child("LinearRing"))
	for _, k := range n.kids {
		if k.name != "innerBoundaryIs" {
			continue
		}
		for _, lr := range k.kids {
			if lr.name == "LinearRing" {
				ring(lr)
			}
		}
	}
	return poly, reasons
}

// kmlCoordinates parses "lon,lat[,alt] lon,lat[,alt] …". Whitespace
// separates tuples; a space after a comma (which some writers emit) is
// tolerated. It returns a message naming the bad tuple, if any.
func kmlCoordinates(text []byte) (orb.Ring, string) {
	fields := strings.Fields(string(text))
	var tuples []string
	for _, f := range fields {
		if n := len(tuples); n > 0 && (strings.HasSuffix(tuples[n-1], ",") || strings.HasPrefix(f, ",")) {
			tuples[n-1] += f
			continue
		}
		tuples = append(tuples, f)
	}
	ring := make(orb.Ring, 0, len(tuples))
	for k, t := range tuples {
		parts := strings.Split(t, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Sprintf("position %d: got %q, want lon,lat or lon,lat,alt", k, truncate(t))
		}
		lon, err1 := strconv.ParseFloat(parts[0], 64)
		lat, err2 := strconv.ParseFloat(parts[1], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Sprintf("position %d: got %q, want two numbers lon,lat", k, truncate(t))
		}
		ring = append(ring, orb.Point{lon, lat})
	}
	return ring, ""
}
