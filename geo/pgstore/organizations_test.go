package pgstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
)

// TestOrganizationStore checks the store without HTTP: its error codes, one
// chair under two concurrent appointments, and an end that detaches the
// organization from the snapshot the same instant it ends its members.
func TestOrganizationStore(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	if _, err := db.ImportTown(ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Second).Add(time.Minute)
	const village, grid1, grid2 = "431321101201", "431321101201001", "431321101201002"

	if _, err := db.CreateOrganization(ctx, &geo.Organization{Kind: geo.OrgOther, Name: "x", VillageCode: "431321101299"}, "test", t0); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("unknown village: %v, want EINVALID", err)
	}
	if _, err := db.CreateOrganization(ctx, &geo.Organization{Kind: geo.OrgMediation, Name: "调解会" + village, VillageCode: village}, "test", t0); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("the imported name again: %v, want ECONFLICT", err)
	}
	if _, err := db.Organization(ctx, 999, t0); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("unknown organization: %v, want ENOTFOUND", err)
	}
	o, err := db.CreateOrganization(ctx, &geo.Organization{Kind: geo.OrgHealthCommittee, Name: "爱卫会", VillageCode: village,
		Contact: &geo.Contact{Name: "联系人", Phone: "13907380009"}}, "test", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AttachGrids(ctx, o.ID, []string{grid1, grid2}, t0, "test", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AttachGrids(ctx, o.ID, []string{"431321101201009"}, t0, "test", t0); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("a grid that is not current: %v, want EINVALID", err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"甲", "乙"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.AddMember(ctx, o.ID, geo.NewMember{Name: name, Phone: "1390738100" + string(rune('1'+i)), Role: geo.MemberChair, From: t0}, "test", t0)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || geo.ErrorCode(errs[0])+geo.ErrorCode(errs[1]) != geo.ECONFLICT {
		t.Errorf("two concurrent chairs: %v and %v, want one to win and one ECONFLICT", errs[0], errs[1])
	}

	end := t0.Add(time.Hour)
	ended, err := db.UpdateOrganization(ctx, o.ID, geo.OrganizationUpdate{End: end}, "test", end)
	if err != nil {
		t.Fatal(err)
	}
	if !ended.EndedAt.Equal(end) || len(ended.Grids) != 0 {
		t.Errorf("ended: %+v", ended)
	}
	serves := func(at time.Time) int {
		td, _, err := db.LoadArea(ctx, 0, at)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, g := range td.Grids {
			for _, r := range g.Organizations {
				if r.Name == o.Name {
					n++
				}
			}
		}
		return n
	}
	if before, after := serves(end.Add(-time.Microsecond)), serves(end); before != 2 || after != 0 {
		t.Errorf("the snapshot lists it on %d grids just before the end and %d at it, want 2 and 0", before, after)
	}
	if m, _ := db.Members(ctx, o.ID, end.Add(-time.Microsecond)); len(m) != 1 {
		t.Errorf("%d members just before the end, want 1", len(m))
	}
	if m, _ := db.Members(ctx, o.ID, end); len(m) != 0 {
		t.Errorf("%d members at the end, want 0", len(m))
	}
	if _, err := db.UpdateOrganization(ctx, o.ID, geo.OrganizationUpdate{End: end}, "test", end); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("ending twice: %v, want ECONFLICT", err)
	}
}
