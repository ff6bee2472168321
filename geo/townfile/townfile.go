// Package townfile reads and writes a whole town as three GeoJSON files
// (RFC 7946) in one folder: town.geojson (the outline, one feature, with the
// liaison districts and the duty desk), villages.geojson (with each
// village's liaison leader and its organizations' members) and
// grids.geojson (with each grid's leader, deputy and organizations as
// properties). It is the format of
// `wangge export` and `wangge import`, and of the demo town in fixtures/.
//
// Writing is deterministic (same data, same bytes) and lossless: coordinates
// are the shortest text that parses back to the same float64. Reading is
// strict about what the service relies on (codes, references, closed rings,
// coordinate ranges) and tolerant of what GIS tools add (unknown properties,
// ids, bbox members, GB18030 text where JSON wants UTF-8): every problem is reported with the file and feature it
// is in, and nothing is returned when there is any.
package townfile

import "time"

// File names inside a town folder.
const (
	TownFile     = "town.geojson"
	VillagesFile = "villages.geojson"
	GridsFile    = "grids.geojson"
)

// MaxFileBytes bounds each file read, so that a wrong path (a disk image, a
// log) fails fast with a clear message instead of exhausting memory. 5,000
// grids of a few hundred vertices take about 50 MB.
const MaxFileBytes = 512 << 20

type townProps struct {
	Code      string         `json:"code"`
	Name      string         `json:"name"`
	County    string         `json:"county,omitempty"`
	Province  string         `json:"province,omitempty"`
	Note      string         `json:"note,omitempty"`
	Districts []districtJSON `json:"districts"`
	DutyDesk  *contactJSON   `json:"duty_desk,omitempty"`
}

type districtJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type villageProps struct {
	Code          string       `json:"code"`
	Name          string       `json:"name"`
	DistrictCode  string       `json:"district_code"`
	LiaisonLeader *contactJSON `json:"liaison_leader,omitempty"`
	Organizations []rosterJSON `json:"organizations,omitempty"`
}

// rosterJSON is an organization of a village with its members.
type rosterJSON struct {
	Kind    string       `json:"kind"`
	Name    string       `json:"name"`
	Members []memberJSON `json:"members"`
}

type memberJSON struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	Role  string `json:"role"`
	// Grids the member serves (absent: as they are); checked against
	// grids.geojson when imported.
	Grids []string `json:"grids,omitempty"`
}

type gridProps struct {
	Code          string       `json:"code"`
	Name          string       `json:"name"`
	VillageCode   string       `json:"village_code"`
	Households    int          `json:"households"`
	Population    int          `json:"population"`
	Leader        *contactJSON `json:"leader,omitempty"`
	Deputy        *contactJSON `json:"deputy,omitempty"`
	Organizations []orgRefJSON `json:"organizations"`
}

type contactJSON struct {
	Name  string       `json:"name"`
	Phone string       `json:"phone,omitempty"`
	Leave []periodJSON `json:"leave,omitempty"`
}

// periodJSON is a leave period; times are RFC 3339.
type periodJSON struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

type orgRefJSON struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}
