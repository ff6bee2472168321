// Package featurejson appends GeoJSON geometry text to byte slices, fast and
// without reflection, for the responses and files wangge renders once and
// serves many times.
//
// Coordinates are written exactly as stored: the shortest decimal text that
// parses back to the same float64 (strconv's 'f' format with precision -1),
// so that export then import is lossless. A precision of 0..15 rounds to that
// many decimals instead, for front-ends that want smaller payloads.
package featurejson

import (
	"strconv"

	"github.com/paulmach/orb"
)

// Exact is the precision that writes coordinates without rounding.
const Exact = -1

// AppendFloat appends v with the given number of decimals, or in shortest
// round-trip form when prec is Exact. Rounded values drop trailing zeros.
func AppendFloat(b []byte, v float64, prec int) []byte {
	if prec < 0 {
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	n := len(b)
	b = strconv.AppendFloat(b, v, 'f', prec, 64)
	if prec > 0 {
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
		if b[len(b)-1] == '.' {
			b = b[:len(b)-1]
		}
	}
	if string(b[n:]) == "-0" {
		b = append(b[:n], '0')
	}
	return b
}

// AppendPoint appends a position: [lon,lat].
func AppendPoint(b []byte, p orb.Point, prec int) []byte {
	b = append(b, '[')
	b = AppendFloat(b, p[0], prec)
	b = append(b, ',')
	b = AppendFloat(b, p[1], prec)
	return append(b, ']')
}

func appendRing(b []byte, r orb.Ring, prec int) []byte {
	b = append(b, '[')
	for i, p := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendPoint(b, p, prec)
	}
	return append(b, ']')
}

func appendPolygonCoords(b []byte, poly orb.Polygon, prec int) []byte {
	b = append(b, '[')
	for i, r := range poly {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRing(b, r, prec)
	}
	return append(b, ']')
}

// AppendMultiPolygon appends a GeoJSON MultiPolygon geometry object.
func AppendMultiPolygon(b []byte, mp orb.MultiPolygon, prec int) []byte {
	b = append(b, `{"type":"MultiPolygon","coordinates":[`...)
	for i, poly := range mp {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPolygonCoords(b, poly, prec)
	}
	return append(b, "]}"...)
}

// AppendPointGeometry appends a GeoJSON Point geometry object.
func AppendPointGeometry(b []byte, p orb.Point, prec int) []byte {
	b = append(b, `{"type":"Point","coordinates":`...)
	b = AppendPoint(b, p, prec)
	return append(b, '}')
}
