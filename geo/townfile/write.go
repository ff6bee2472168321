package townfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/featurejson"
)

// WriteDir writes td as town.geojson, villages.geojson and grids.geojson in
// dir, creating dir if needed. Each file is written to a temporary name and
// renamed, so a crash never leaves a half-written file under the real name.
func WriteDir(dir string, td *geo.TownData) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	town, villages, grids, err := Encode(td)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{TownFile: town, VillagesFile: villages, GridsFile: grids} {
		if err := writeAtomic(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Encode renders the three files of td. Features keep the order of td
// (callers sort by code); the output ends with a newline.
func Encode(td *geo.TownData) (town, villages, grids []byte, err error) {
	tp := townProps{Code: td.Town.Code, Name: td.Town.Name, County: td.Town.County,
		Province: td.Town.Province, Note: td.Town.Note, Districts: []districtJSON{}, DutyDesk: contactOut(td.Town.DutyDesk)}
	for _, d := range td.Town.Districts {
		tp.Districts = append(tp.Districts, districtJSON{Code: d.Code, Name: d.Name})
	}
	town, err = collection(1, func(b []byte, _ int) ([]byte, error) {
		return feature(b, td.Town.Code, td.Town.Outline, tp)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	villages, err = collection(len(td.Villages), func(b []byte, i int) ([]byte, error) {
		v := td.Villages[i]
		return feature(b, v.Code, v.Outline, villageProps{Code: v.Code, Name: v.Name, DistrictCode: v.DistrictCode,
			LiaisonLeader: contactOut(v.LiaisonLeader), Organizations: rostersOut(v.Organizations)})
	})
	if err != nil {
		return nil, nil, nil, err
	}
	grids, err = collection(len(td.Grids), func(b []byte, i int) ([]byte, error) {
		g := td.Grids[i]
		return feature(b, g.Code, g.Geometry, gridPropsOf(g))
	})
	return town, villages, grids, err
}

func gridPropsOf(g geo.GridRecord) gridProps {
	p := gridProps{Code: g.Code, Name: g.Name, VillageCode: g.VillageCode,
		Households: g.Households, Population: g.Population, Organizations: []orgRefJSON{}}
	p.Leader, p.Deputy = contactOut(g.Leader), contactOut(g.Deputy)
	for _, o := range g.Organizations {
		p.Organizations = append(p.Organizations, orgRefJSON{Kind: string(o.Kind), Name: o.Name})
	}
	return p
}

// rostersOut renders a village's organizations with their members.
func rostersOut(rs []geo.OrganizationRoster) []rosterJSON {
	var out []rosterJSON
	for _, r := range rs {
		rj := rosterJSON{Kind: string(r.Kind), Name: r.Name, Members: []memberJSON{}}
		for _, m := range r.Members {
			rj.Members = append(rj.Members, memberJSON{Name: m.Name, Phone: m.Phone, Role: string(m.Role), Grids: m.Grids})
		}
		out = append(out, rj)
	}
	return out
}

// contactOut renders a contact; times in UTC so the bytes do not depend on
// the machine's zone.
func contactOut(c *geo.Contact) *contactJSON {
	if c == nil {
		return nil
	}
	out := &contactJSON{Name: c.Name, Phone: c.Phone}
	for _, p := range c.Leave {
		out.Leave = append(out.Leave, periodJSON{From: p.From.UTC(), To: p.To.UTC()})
	}
	return out
}

// collection writes a FeatureCollection with one feature per line, which
// keeps diffs of regenerated fixtures readable.
func collection(n int, each func(b []byte, i int) ([]byte, error)) ([]byte, error) {
	b := []byte(`{"type":"FeatureCollection","features":[`)
	var err error
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		if b, err = each(b, i); err != nil {
			return nil, err
		}
	}
	return append(b, "\n]}\n"...), nil
}

func feature(b []byte, id string, g orb.MultiPolygon, props any) ([]byte, error) {
	pj, err := json.Marshal(props)
	if err != nil {
		return nil, fmt.Errorf("feature %s: %w", id, err)
	}
	idj, _ := json.Marshal(id)
	b = append(b, `{"type":"Feature","id":`...)
	b = append(b, idj...)
	b = append(b, `,"geometry":`...)
	b = featurejson.AppendMultiPolygon(b, g, featurejson.Exact)
	b = append(b, `,"properties":`...)
	b = append(b, pj...)
	return append(b, '}'), nil
}
