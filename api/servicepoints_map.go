package api

import (
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/vectortile"
)

// This file draws the service points on the map: the OGC API – Features
// collection service-points and the vector tile layer of the same name,
// both built from the snapshot (geo.Town.ServicePoints: the points in
// service when it was loaded; every write reloads it) like the grids and
// villages. Neither carries staff: names and phones of people stay in
// GET /v1/service-points.

// ogcServicePoints is the service points collection.
var ogcServicePoints = &ogcCollection{
	id: "service-points", title: "Service points (便民服务中心/站, 党代表工作室, 群工站)", need: geo.AccessViewer, geometry: "Point",
	description: "The places residents get things done: kind, name, town, village, address, opening hours and the service " +
		"items handled there. No staff: who works or is on duty there is at GET /v1/service-points/{id} and " +
		"GET /v1/service-points/{id}/duty. The id is the service point's id.",
	fields: []ogcField{
		{"id", ogcInteger, "the service point's id"},
		{"kind", ogcString, "service_center, service_station, party_rep_studio or mass_work_station"},
		{"kind_zh", ogcString, "the kind's Chinese name"},
		{"name", ogcString, "name"},
		{"town_code", ogcString, "9-digit code of its town"},
		{"village_code", ogcString, "12-digit code of its village (null for a town-level point)"},
		{"address", ogcString, "address"},
		{"hours", ogcString, "opening hours, e.g. mon 08:30-12:00,14:30-17:30; tue …"},
		{"open_on_holidays", ogcBoolean, "open on public holidays"},
		{"services", ogcStringList, "codes of the service items handled there"},
	},
	enums: map[string][]string{"kind": stringsOf(geo.ServicePointKinds)},
	build: ogcServicePointLayer,
}

// ogcServicePointProperties are the properties of a service point feature.
type ogcServicePointProperties struct {
	ID             int64    `json:"id"`
	Kind           string   `json:"kind"`
	KindZh         string   `json:"kind_zh"`
	Name           string   `json:"name"`
	TownCode       string   `json:"town_code"`
	VillageCode    *string  `json:"village_code"`
	Address        string   `json:"address"`
	Hours          string   `json:"hours"`
	OpenOnHolidays bool     `json:"open_on_holidays"`
	Services       []string `json:"services"`
}

// hoursText writes opening hours as one line: "mon 08:30-12:00,14:30-17:30; tue …".
func hoursText(h geo.OpeningHours) string {
	var parts []string
	for i := range 7 {
		d := (i + 1) % 7 // Monday first
		if len(h[d]) == 0 {
			continue
		}
		rs := make([]string, len(h[d]))
		for j, r := range h[d] {
			rs[j] = r.String()
		}
		parts = append(parts, [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}[d]+" "+strings.Join(rs, ","))
	}
	return strings.Join(parts, "; ")
}

func ogcServicePointLayer(r *rendering) *ogcLayer {
	l := &ogcLayer{at: map[string]int{}}
	for _, t := range r.snap.Towns {
		for _, p := range t.ServicePoints {
			id := strconv.FormatInt(p.ID, 10)
			props := ogcServicePointProperties{ID: p.ID, Kind: string(p.Kind), KindZh: p.Kind.NameZh(), Name: p.Name, TownCode: p.TownCode,
				Address: p.Address, Hours: hoursText(p.Hours), OpenOnHolidays: p.OpenOnHolidays, Services: stringsOf(p.Services)}
			var village any
			if p.VillageCode != "" {
				props.VillageCode, village = &p.VillageCode, p.VillageCode
			}
			pj := ogcProps(id, props)
			geom := orb.Point(p.Location)
			l.add(ogcItem{id: id, geom: geom, props: pj, feature: ogcFeature(id, geom, pj, crsCRS84),
				values: []any{int(p.ID), props.Kind, props.KindZh, props.Name, props.TownCode, village, props.Address,
					props.Hours, props.OpenOnHolidays, props.Services}})
		}
	}
	return l
}

// servicePointTileLayer is the tile layer of the service points.
var servicePointTileLayer = tileLayer{
	name:        "service-points",
	description: "Service points (便民服务中心/站, 党代表工作室, 群工站), id = the service point's id; no staff",
	fields: [][2]string{
		{"id", "Number: the service point's id"},
		{"kind", "String: service_center, service_station, party_rep_studio or mass_work_station"},
		{"name", "String: name"},
		{"town_code", "String: 9-digit town code"},
		{"village_code", "String: 12-digit village code (absent for a town-level point)"},
		{"services", "String: codes of the service items handled there, comma-separated"},
		{"hours", "String: opening hours"},
	},
	features: servicePointTileFeatures,
}

// servicePointTileFeatures returns the service points as point features.
func servicePointTileFeatures(snap *geo.Snapshot) []vectortile.Feature {
	var out []vectortile.Feature
	for _, t := range snap.Towns {
		for _, p := range t.ServicePoints {
			var village any
			if p.VillageCode != "" {
				village = p.VillageCode
			}
			out = append(out, vectortile.Feature{ID: uint64(p.ID), Points: orb.MultiPoint{orb.Point(p.Location)}, Properties: []vectortile.Property{
				{Key: "id", Value: int(p.ID)}, {Key: "kind", Value: string(p.Kind)}, {Key: "name", Value: p.Name},
				{Key: "town_code", Value: p.TownCode}, {Key: "village_code", Value: village},
				{Key: "services", Value: strings.Join(stringsOf(p.Services), ",")}, {Key: "hours", Value: hoursText(p.Hours)}}})
		}
	}
	return out
}
