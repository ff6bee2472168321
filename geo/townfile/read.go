package townfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/featurejson"
	"wangge/geo/gbtext"
	"wangge/geo/jsonerr"
)

// maxProblems caps the problems reported for one import: past it a broken
// file is broken everywhere and more lines do not help.
const maxProblems = 100

// ReadDir reads the three files of a town folder.
func ReadDir(dir string) (*geo.TownData, error) {
	return ReadFS(os.DirFS(dir), ".")
}

// ReadFS reads the three files of a town folder inside fsys (the embedded
// demo town, or os.DirFS).
func ReadFS(fsys fs.FS, dir string) (*geo.TownData, error) {
	var data [3][]byte
	for i, name := range []string{TownFile, VillagesFile, GridsFile} {
		b, err := readLimited(fsys, strings.TrimPrefix(dir+"/"+name, "./"))
		if err != nil {
			return nil, err
		}
		data[i] = b
	}
	return Decode(data[0], data[1], data[2])
}

func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, geo.Errorf(geo.EINVALID, "%s: file not found; a town folder holds %s, %s and %s", name, TownFile, VillagesFile, GridsFile)
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileBytes {
		return nil, geo.Errorf(geo.EINVALID, "%s: larger than %d MiB", name, MaxFileBytes>>20)
	}
	return b, nil
}

// Decode parses and checks the three files. It returns a *geo.Error with
// code EINVALID listing every problem found (up to 100), each naming the file
// and the feature, and no data, when anything is wrong.
//
// JSON is UTF-8 (RFC 8259), but Notepad, WPS and older GIS tools on Chinese
// Windows save "ANSI" text, which there is GB18030 (or its subsets GBK and
// GB2312). A file that is not valid UTF-8 is therefore decoded as GB18030;
// one that is neither is refused, naming the file and the iconv command
// that re-encodes it, so that no name is ever stored with U+FFFD in it.
func Decode(town, villages, grids []byte) (*geo.TownData, error) {
	d := decoder{}
	town, villages, grids = d.text(TownFile, town), d.text(VillagesFile, villages), d.text(GridsFile, grids)
	if len(d.problems) > 0 {
		return nil, d.err()
	}
	td := &geo.TownData{}
	d.town(town, td)
	d.villages(villages, td)
	d.grids(grids, td)
	if len(d.problems) > 0 {
		return nil, d.err()
	}
	return td, nil
}

// err is the EINVALID error listing the problems found.
func (d *decoder) err() error {
	msg := fmt.Sprintf("the town files have %d problems", d.count)
	if d.count == 1 {
		msg = "the town files have a problem"
	}
	return &geo.Error{Code: geo.EINVALID, Message: msg, Problems: d.problems}
}

// text returns the content of file as UTF-8: without a UTF-8 byte order
// mark when it is UTF-8, decoded from GB18030 when it is not; it reports a
// problem when it is neither (GB18030 decoding would put U+FFFD in place
// of what it cannot read).
func (d *decoder) text(file string, b []byte) []byte {
	b = stripBOM(b)
	if utf8.Valid(b) {
		return b
	}
	s := gbtext.Decode(b)
	if strings.ContainsRune(s, utf8.RuneError) {
		off := 0
		for off < len(b) {
			r, n := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		d.add(file, "is not UTF-8 (byte 0x%02x at offset %d) and not GB18030 either: GeoJSON must be UTF-8 (RFC 8259); "+
			"save it as UTF-8, or convert it, e.g. `iconv -f GB18030 -t UTF-8 %s > utf8/%s` for GBK text (-f BIG5 and so on for other encodings)",
			b[off], off, file, file)
		return nil
	}
	return []byte(s)
}

type decoder struct {
	problems []geo.Problem
	count    int
}

func (d *decoder) add(where, format string, args ...any) {
	d.count++
	if len(d.problems) < maxProblems {
		d.problems = append(d.problems, geo.Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
	}
}

type rawCollection struct {
	Type     string       `json:"type"`
	Features []rawFeature `json:"features"`
}

type rawFeature struct {
	Type       string          `json:"type"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties json.RawMessage `json:"properties"`
}

// collection parses a FeatureCollection, reporting syntax errors with the
// line and column where they are.
func (d *decoder) collection(file string, data []byte) []rawFeature {
	var fc rawCollection
	if err := json.Unmarshal(data, &fc); err != nil {
		d.add(file, "%s", jsonerr.Describe(data, err))
		return nil
	}
	if fc.Type != "FeatureCollection" {
		d.add(file, "type %q: want FeatureCollection", fc.Type)
		return nil
	}
	if len(fc.Features) == 0 {
		d.add(file, "has no features")
	}
	return fc.Features
}

// feature decodes one feature's properties into props and its geometry
// (strictly: see featurejson.DecodePolygonal). It returns false after
// reporting when the feature is unusable; geometry problems are reported
// with where as a prefix once the caller knows the feature's code.
func (d *decoder) feature(where string, f rawFeature, props any) (geom orb.MultiPolygon, reasons []string, ok bool) {
	if f.Type != "Feature" {
		d.add(where, "type %q: want Feature", f.Type)
		return nil, nil, false
	}
	if len(f.Properties) == 0 || string(f.Properties) == "null" {
		d.add(where, "properties are missing")
		return nil, nil, false
	}
	if err := json.Unmarshal(f.Properties, props); err != nil {
		d.add(where, "properties: %s", jsonerr.Describe(f.Properties, err))
		return nil, nil, false
	}
	geom, reasons = featurejson.DecodePolygonal(f.Geometry)
	return geom, reasons, true
}

func (d *decoder) town(data []byte, td *geo.TownData) {
	features := d.collection(TownFile, data)
	if len(features) > 1 {
		d.add(TownFile, "has %d features: want exactly one, the town outline", len(features))
		return
	}
	if len(features) == 0 {
		return
	}
	where := TownFile + ": feature 0"
	var p townProps
	outline, reasons, ok := d.feature(where, features[0], &p)
	if !ok {
		return
	}
	where = fmt.Sprintf("%s: feature 0 (%s)", TownFile, p.Code)
	if err := geo.ValidateTownCode(p.Code); err != nil {
		d.add(where, "%s", geo.ErrorMessage(err))
	}
	if strings.TrimSpace(p.Name) == "" {
		d.add(where, "name is empty")
	}
	for _, r := range reasons {
		d.add(where, "geometry: %s", r)
	}
	t := geo.Town{Code: p.Code, Name: p.Name, County: p.County, Province: p.Province, Note: p.Note, Outline: outline,
		DutyDesk: d.contact(where+": duty_desk", p.DutyDesk)}
	seen := map[string]bool{}
	for i, dj := range p.Districts {
		if strings.TrimSpace(dj.Code) == "" || strings.TrimSpace(dj.Name) == "" {
			d.add(where, "districts[%d]: code and name are required", i)
		} else if seen[dj.Code] {
			d.add(where, "districts[%d]: code %q is used twice", i, dj.Code)
		}
		seen[dj.Code] = true
		t.Districts = append(t.Districts, geo.District{Code: dj.Code, Name: dj.Name})
	}
	td.Town = t
}

func (d *decoder) villages(data []byte, td *geo.TownData) {
	districts := map[string]bool{}
	for _, dist := range td.Town.Districts {
		districts[dist.Code] = true
	}
	seen := map[string]int{}
	for i, f := range d.collection(VillagesFile, data) {
		where := fmt.Sprintf("%s: feature %d", VillagesFile, i)
		var p villageProps
		outline, reasons, ok := d.feature(where, f, &p)
		if !ok {
			continue
		}
		where = fmt.Sprintf("%s: feature %d (%s)", VillagesFile, i, p.Code)
		if err := geo.ValidateVillageCode(p.Code); err != nil {
			d.add(where, "%s", geo.ErrorMessage(err))
		} else if td.Town.Code != "" && !strings.HasPrefix(p.Code, td.Town.Code) {
			d.add(where, "village code %s does not start with the town code %s", p.Code, td.Town.Code)
		}
		if j, dup := seen[p.Code]; dup {
			d.add(where, "village code %s is used twice (also feature %d)", p.Code, j)
		}
		seen[p.Code] = i
		if strings.TrimSpace(p.Name) == "" {
			d.add(where, "name is empty")
		}
		if p.DistrictCode != "" && !districts[p.DistrictCode] {
			d.add(where, "district_code %q is not one of the town's districts", p.DistrictCode)
		}
		for _, r := range reasons {
			d.add(where, "geometry: %s", r)
		}
		td.Villages = append(td.Villages, geo.Village{Code: p.Code, Name: p.Name, DistrictCode: p.DistrictCode, Outline: outline,
			LiaisonLeader: d.contact(where+": liaison_leader", p.LiaisonLeader), Organizations: d.rosters(where, p.Organizations)})
	}
}

func (d *decoder) grids(data []byte, td *geo.TownData) {
	villages := map[string]bool{}
	for _, v := range td.Villages {
		villages[v.Code] = true
	}
	seen := map[string]int{}
	for i, f := range d.collection(GridsFile, data) {
		where := fmt.Sprintf("%s: feature %d", GridsFile, i)
		var p gridProps
		geom, reasons, ok := d.feature(where, f, &p)
		if !ok {
			continue
		}
		where = fmt.Sprintf("%s: feature %d (%s)", GridsFile, i, p.Code)
		if err := geo.ValidateGridCode(p.Code, p.VillageCode); err != nil {
			d.add(where, "%s", geo.ErrorMessage(err))
		}
		if !villages[p.VillageCode] {
			d.add(where, "village_code %q is not in %s", p.VillageCode, VillagesFile)
		}
		if j, dup := seen[p.Code]; dup {
			d.add(where, "grid code %s is used twice (also feature %d)", p.Code, j)
		}
		seen[p.Code] = i
		if strings.TrimSpace(p.Name) == "" {
			d.add(where, "name is empty")
		}
		if p.Households < 0 || p.Population < 0 {
			d.add(where, "households and population must not be negative")
		}
		for _, r := range reasons {
			d.add(where, "geometry: %s", r)
		}
		rec := geo.GridRecord{Grid: geo.Grid{Code: p.Code, Name: p.Name, VillageCode: p.VillageCode,
			Households: p.Households, Population: p.Population, Geometry: geom}}
		rec.Leader = d.contact(where+": leader", p.Leader)
		rec.Deputy = d.contact(where+": deputy", p.Deputy)
		for k, o := range p.Organizations {
			if !geo.OrgKind(o.Kind).WellFormed() {
				d.add(where, "organizations[%d]: kind %q: %s", k, o.Kind, kindForm)
			}
			if strings.TrimSpace(o.Name) == "" {
				d.add(where, "organizations[%d]: name is empty", k)
			}
			rec.Organizations = append(rec.Organizations, geo.OrganizationRef{Kind: geo.OrgKind(o.Kind), Name: o.Name})
		}
		td.Grids = append(td.Grids, rec)
	}
}

// kindForm says what an organization's kind must look like. Whether the
// town has the kind is its catalogue's to say, which the import checks
// (kinds an admin added at run time included), so a file reads here with
// any well-formed kind.
const kindForm = "want a kind code (lowercase letters, digits and _, such as mediation)"

// rosters checks a village's organizations and their members.
func (d *decoder) rosters(where string, in []rosterJSON) []geo.OrganizationRoster {
	var out []geo.OrganizationRoster
	for i, r := range in {
		w := fmt.Sprintf("%s: organizations[%d]", where, i)
		if !geo.OrgKind(r.Kind).WellFormed() {
			d.add(w, "kind %q: %s", r.Kind, kindForm)
		}
		if strings.TrimSpace(r.Name) == "" {
			d.add(w, "name is empty")
		}
		or := geo.OrganizationRoster{Kind: geo.OrgKind(r.Kind), Name: r.Name}
		for k, m := range r.Members {
			role := geo.MemberRole(m.Role)
			if m.Role == "" {
				role = geo.MemberMember
			}
			if !role.Valid() {
				d.add(fmt.Sprintf("%s: members[%d]", w, k), "role %q: want chair or member", m.Role)
			}
			if strings.TrimSpace(m.Name) == "" {
				d.add(fmt.Sprintf("%s: members[%d]", w, k), "name is empty")
			}
			or.Members = append(or.Members, geo.RosterMember{Contact: geo.Contact{Name: m.Name, Phone: m.Phone}, Role: role, Grids: m.Grids})
		}
		out = append(out, or)
	}
	return out
}

func (d *decoder) contact(where string, c *contactJSON) *geo.Contact {
	if c == nil {
		return nil
	}
	if strings.TrimSpace(c.Name) == "" {
		d.add(where, "name is empty")
	}
	out := &geo.Contact{Name: c.Name, Phone: c.Phone}
	for i, p := range c.Leave {
		if !p.To.After(p.From) {
			d.add(where, "leave[%d]: to (%s) must be after from (%s)", i, p.To.Format(time.RFC3339), p.From.Format(time.RFC3339))
		}
		out.Leave = append(out.Leave, geo.Period{From: p.From, To: p.To})
	}
	return out
}

// stripBOM drops a UTF-8 byte order mark, which Windows tools write and
// JSON forbids.
func stripBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
}
