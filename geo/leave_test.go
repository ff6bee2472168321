package geo_test

import (
	"testing"
	"time"

	"wangge/geo"
)

// TestCoverThen: who took a grid's matters while its leader was away, from
// the seats the store read for that moment. The deputy of the time covers
// even when today's deputy is someone else; a cover beyond the grid is
// known only while the village's liaison leader is the one the snapshot
// holds.
func TestCoverThen(t *testing.T) {
	snap := oneGridTown(t, present, present, present, true)
	g, _ := snap.Grid("431321101201001")
	at := dispatchNow
	seat := func(id int64, name string) *geo.Assignment {
		return &geo.Assignment{Person: geo.Person{ID: id, Name: name, Phone: "13900000000"}}
	}
	away := map[int64]geo.Leave{1: {PersonID: 1, Period: geo.Period{From: at.Add(-time.Hour), To: at.Add(time.Hour)}}}
	liaison := seat(3, "联村组长")

	for _, c := range []struct {
		name    string
		st      geo.GridStaff
		want    string // "" nobody
		known   bool
		wantLvl geo.Level
	}{
		{"nobody away", geo.GridStaff{Leader: seat(1, "旧网格长"), Deputy: seat(2, "旧副网格长"), LiaisonLeader: liaison}, "", true, 0},
		{"the deputy of the time", geo.GridStaff{Leader: seat(1, "旧网格长"), Deputy: seat(2, "旧副网格长"), LiaisonLeader: liaison, OnLeave: away}, "旧副网格长", true, geo.LevelGrid},
		{"no deputy then: the liaison leader, the same today", geo.GridStaff{Leader: seat(1, "旧网格长"), LiaisonLeader: liaison, OnLeave: away}, "联村组长", true, geo.LevelVillage},
		{"no deputy then, another liaison leader then", geo.GridStaff{Leader: seat(1, "旧网格长"), LiaisonLeader: seat(4, "前联村组长"), OnLeave: away}, "", false, 0},
		{"no deputy and no liaison leader then, one today", geo.GridStaff{Leader: seat(1, "旧网格长"), OnLeave: away}, "", false, 0},
	} {
		cover, known := snap.CoverThen(g, c.st, at)
		name := ""
		if cover != nil {
			name = cover.Name
			if cover.Level != c.wantLvl {
				t.Errorf("%s: level %d, want %d", c.name, cover.Level, c.wantLvl)
			}
		}
		if name != c.want || known != c.known {
			t.Errorf("%s: covered by %q (known %v), want %q (known %v)", c.name, name, known, c.want, c.known)
		}
	}
	// The snapshot's own grid is untouched.
	if g.Leader.Name != "网格长" || g.Deputy.Name != "副网格长" {
		t.Errorf("the snapshot's grid changed: %+v %+v", g.Leader, g.Deputy)
	}
}
