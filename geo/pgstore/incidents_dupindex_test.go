package pgstore_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// TestIntake_duplicateCheckUsesPartialIndex holds the intake statements'
// possible-duplicate check to the partial index made for it. The index
// applies only when the check's status test implies the index's predicate,
// which nothing else enforces: a test that drifted from it would still give
// the right answers, by a scan of every incident of the category. With
// sequential scans priced out and the plan made generic (the parameters
// unknown, as a pooled connection may plan it after five executions), each
// statement's plan must read incidents through the partial index.
func TestIntake_duplicateCheckUsesPartialIndex(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	rows, err := db.Pool.Query(ctx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am am ON am.oid = c.relam
		WHERE i.indrelid = 'incidents'::regclass AND i.indpred IS NOT NULL AND am.amname = 'gist' ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	partial, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(partial) != 1 {
		t.Fatalf("partial GiST indexes on incidents: %v, want the duplicate check's alone", partial)
	}
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, set := range []string{"SET plan_cache_mode = force_generic_plan", "SET enable_seqscan = off"} {
		if _, err := conn.Exec(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	param := regexp.MustCompile(`\$(\d+)`)
	for _, name := range []string{"incident_create", "incident_create_batch"} {
		query := pgstore.Queries()[name]
		if query == "" {
			t.Fatalf("no query %s", name)
		}
		n := 0
		for _, m := range param.FindAllStringSubmatch(query, -1) {
			k, _ := strconv.Atoi(m[1])
			n = max(n, k)
		}
		if _, err := conn.Exec(ctx, "PREPARE dupcheck AS "+query); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		nulls := strings.TrimSuffix(strings.Repeat("NULL,", n), ",")
		rows, err := conn.Query(ctx, "EXPLAIN (COSTS OFF) EXECUTE dupcheck("+nulls+")")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if plan := strings.Join(lines, "\n"); !strings.Contains(plan, partial[0]) {
			t.Errorf("%s does not read incidents through %s; its plan:\n%s", name, partial[0], plan)
		}
		if _, err := conn.Exec(ctx, "DEALLOCATE dupcheck"); err != nil {
			t.Fatal(err)
		}
	}
}
