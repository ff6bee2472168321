package pgstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// This file keeps what applying a plan would change (PlanImpact) and the
// apply itself (ApplyPlan), which writes exactly the attachments the
// impact shows (attachmentChanges).

// ApplyPauseEnv names an environment variable that, set to a duration
// (e.g. "5s"), makes ApplyPlan wait that long inside its transaction just
// before COMMIT. It exists for the crash test, which kills the server
// while an apply is in flight; nothing else sets it.
const ApplyPauseEnv = "WANGGE_TEST_APPLY_PAUSE"

// PlanImpact computes what applying a plan would change; see
// geo.PlanStore.
func (db *DB) PlanImpact(ctx context.Context, id int64, at time.Time) (*geo.Impact, error) {
	var im *geo.Impact
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		p, err := scanPlan(tx.QueryRow(ctx, q("plan_get"), id))
		if err != nil {
			return err
		}
		im = &geo.Impact{PlanID: p.ID, BaseGeneration: p.BaseGeneration}
		byCode := map[string]int{}
		var g geo.GridImpact
		var change string
		rows, _ := tx.Query(ctx, q("plan_impact_grids"), id, p.BaseGeneration, at, p.Town)
		if _, err := pgx.ForEachRow(rows, []any{&g.Code, &change, &g.AreaBeforeM2, &g.AreaAfterM2, &g.HouseholdsBefore, &g.HouseholdsAfter,
			&g.PopulationBefore, &g.PopulationAfter, &g.LeaderBefore, &g.LeaderAfter}, func() error {
			g.Change = geo.GridChange(change)
			byCode[g.Code] = len(im.Grids)
			im.Grids = append(im.Grids, g)
			return nil
		}); err != nil {
			return err
		}
		var m geo.AreaMove
		var h, pop *float64
		rows, _ = tx.Query(ctx, q("plan_impact_moves"), id, p.BaseGeneration, TilingToleranceM2, p.Town)
		if _, err := pgx.ForEachRow(rows, []any{&m.From, &m.To, &m.AreaM2, &h, &pop}, func() error {
			m.Households, m.Population = orZero(h), orZero(pop)
			im.Moves = append(im.Moves, m)
			if i, ok := byCode[m.From]; ok {
				im.Grids[i].LostM2 += m.AreaM2
				im.Grids[i].HouseholdsOut += m.Households
				im.Grids[i].PopulationOut += m.Population
			}
			if i, ok := byCode[m.To]; ok {
				im.Grids[i].GainedM2 += m.AreaM2
				im.Grids[i].HouseholdsIn += m.Households
				im.Grids[i].PopulationIn += m.Population
			}
			return nil
		}); err != nil {
			return err
		}
		if im.Attachments, err = attachmentChanges(ctx, tx, p, at); err != nil {
			return err
		}
		im.Incidents, err = incidentMoves(ctx, tx, p)
		return err
	})
	return im, planError(err)
}

// incidentMoves lists the open incidents whose location p routes to
// another grid than its base did. Apply moves exactly these, to the grids
// listed, so that the impact report is what happens.
func incidentMoves(ctx context.Context, tx pgx.Tx, p *geo.Plan) ([]geo.IncidentMove, error) {
	var out []geo.IncidentMove
	var inc geo.IncidentMove
	var status string
	rows, _ := tx.Query(ctx, q("plan_impact_incidents"), p.ID, p.BaseGeneration, openStatuses(), p.Town)
	_, err := pgx.ForEachRow(rows, []any{&inc.Number, &status, &inc.Location[0], &inc.Location[1], &inc.Routed, &inc.Before, &inc.After}, func() error {
		inc.Status = geo.Status(status)
		out = append(out, inc)
		return nil
	})
	return out, err
}

func orZero(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// attachmentChanges lists the attachments applying p at time at ends and
// starts; apply writes exactly what impact shows.
func attachmentChanges(ctx context.Context, tx pgx.Tx, p *geo.Plan, at time.Time) ([]geo.AttachmentChange, error) {
	var out []geo.AttachmentChange
	var c geo.AttachmentChange
	var kind string
	rows, _ := tx.Query(ctx, q("plan_attachment_changes"), p.ID, p.BaseGeneration, at, p.Town)
	_, err := pgx.ForEachRow(rows, []any{&c.Detach, &c.AttachmentID, &c.OrganizationID, &kind, &c.Name, &c.GridCode, &c.Via}, func() error {
		c.Kind = geo.OrgKind(kind)
		out = append(out, c)
		c.Via = nil
		return nil
	})
	return out, err
}

// ApplyPlan writes a draft as a new generation of its town; see
// geo.PlanStore.
//
// A town's plan is checked under its town's lock (plan_town_lock), which
// another town's apply does not wait for, and takes the generation lock
// (shared by every writer of generations: ids are global) only to write,
// rechecking there that its town has not changed meanwhile (an import of
// the town takes the generation lock alone). A plan of every town holds
// the generation lock throughout, as every apply did before towns.
func (db *DB) ApplyPlan(ctx context.Context, id int64, ifMatch geo.PlanTag, actor string, now time.Time) (*geo.Plan, error) {
	var applied *geo.Plan
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := noJIT(ctx, tx); err != nil {
			return err
		}
		p, err := scanPlan(tx.QueryRow(ctx, q("plan_get"), id))
		if err != nil {
			return err
		}
		// Two applies of one town never interleave, and the base is
		// checked under the lock.
		if p.Town == "" {
			_, err = tx.Exec(ctx, q("generation_lock"))
		} else {
			_, err = tx.Exec(ctx, q("plan_town_lock"), p.Town)
		}
		if err != nil {
			return err
		}
		if p, err = scanPlan(tx.QueryRow(ctx, q("plan_lock"), id)); err != nil {
			return err
		}
		if p.Status != geo.PlanDraft {
			return geo.Errorf(geo.ECONFLICT, "plan %d was applied already, as generation %d", p.ID, p.AppliedGeneration)
		}
		if err := checkBase(ctx, tx, p, ifMatch); err != nil {
			return err
		}
		// A draft that changes nothing would write a generation identical
		// to its base.
		if err := summarise(ctx, tx, p); err != nil {
			return err
		}
		if s := p.Summary; s.Modified+s.Added+s.Retired+s.Leaders == 0 {
			return geo.Errorf(geo.ECONFLICT, "plan %d changes nothing compared with generation %d (no grid added, modified or retired, no leader appointed): there is nothing to apply", p.ID, p.BaseGeneration)
		}
		if now, err = notBeforeLatest(ctx, tx, now); err != nil {
			return err
		}
		if err := stagePlan(ctx, tx, p, now); err != nil {
			return err
		}
		report, err := validateStaged(ctx, tx, geo.DefaultValidationOptions(), false)
		if err != nil {
			return err
		}
		report.PlanID, report.Generation = p.ID, p.BaseGeneration
		if blocking, _ := report.Count(); blocking > 0 {
			return &geo.BlockingError{Report: report}
		}
		attachments, err := attachmentChanges(ctx, tx, p, now)
		if err != nil {
			return err
		}
		// Read against the base, before the new generation is written: the
		// same query, on the same rows, as the impact report.
		moves, err := incidentMoves(ctx, tx, p)
		if err != nil {
			return err
		}
		if p.Town != "" {
			// From here to COMMIT the apply writes: other writers of
			// generations wait, as briefly as that takes.
			if _, err := tx.Exec(ctx, q("generation_lock")); err != nil {
				return err
			}
			if err := checkBase(ctx, tx, p, ifMatch); err != nil {
				return err
			}
			if now, err = notBeforeLatest(ctx, tx, now); err != nil {
				return err
			}
		}
		var gen int64
		note := fmt.Sprintf("plan %d", p.ID)
		if p.Note != "" {
			note += ": " + p.Note
		}
		if err := tx.QueryRow(ctx, q("generation_new"), now, actor, note, nullIfEmpty(p.Town)).Scan(&gen); err != nil {
			return err
		}
		if err := runSteps(ctx, tx, step{"plan_apply_villages", []any{id}}); err != nil {
			return err
		}
		// Only the town's grids are versioned: other towns' are not touched.
		if err := writeGridVersions(ctx, tx, gen, now, p.Town); err != nil {
			return err
		}
		var detach []int64
		var attachOrgs []int64
		var attachCodes []string
		for _, a := range attachments {
			if a.Detach {
				detach = append(detach, a.AttachmentID)
			} else {
				attachOrgs, attachCodes = append(attachOrgs, a.OrganizationID), append(attachCodes, a.GridCode)
			}
		}
		if err := runSteps(ctx, tx, step{"plan_apply_people", []any{id, now}}); err != nil {
			return err
		}
		ended, err := collectAssignments(tx.Query(ctx, q("plan_apply_end_assignments"), id, p.BaseGeneration, now, p.Town))
		if err != nil {
			return fmt.Errorf("plan_apply_end_assignments: %w", err)
		}
		err = runSteps(ctx, tx,
			step{"plan_apply_leaders", []any{id, now}},
			step{"plan_apply_detach", []any{detach, now}},
			step{"plan_apply_attach", []any{attachOrgs, attachCodes, now}},
			step{"plan_mark_applied", []any{id, actor, now, gen}})
		if err != nil {
			return err
		}
		// Open incidents follow: those whose location now lies in another
		// grid go there, as the impact report said; then those of people
		// whose assignments the plan ended (retired grids, new leaders) go
		// to whoever takes them now.
		rr := &rerouting{db: db, tx: tx, actor: actor, actorRole: geo.AccessPlanner, at: now}
		rerouted, err := rr.rerouteMoves(ctx, moves, fmt.Sprintf("%s applied as generation %d", note, gen))
		if err != nil {
			return err
		}
		handedOver, err := rr.handOver(ctx, ended)
		if err != nil {
			return err
		}
		if err := summarise(ctx, tx, p); err != nil {
			return err
		}
		p.Status, p.AppliedBy, p.AppliedAt, p.AppliedGeneration, p.UpdatedAt = geo.PlanApplied, actor, now, gen, now
		after := map[string]any{"generation": gen, "base_generation": p.BaseGeneration, "town": p.Town, "summary": p.Summary,
			"attachments_started": len(attachOrgs), "attachments_ended": len(detach),
			"incidents_rerouted": rerouted, "incidents_handed_over": handedOver}
		if err := audit(ctx, tx, now, actor, "plan.apply", planTarget(id), nil, after, ""); err != nil {
			return err
		}
		// NOTIFY is delivered at COMMIT, so it is last: the crash test
		// knows that a transaction idle after it has done all but commit.
		if _, err := tx.Exec(ctx, q("notify"), fmt.Sprint(gen)); err != nil {
			return err
		}
		applied = p
		return pauseBeforeCommit(ctx)
	})
	if err != nil {
		return nil, planError(err)
	}
	return applied, nil
}

// checkBase refuses, as *geo.StaleBaseError, a plan whose tag ifMatch
// does not name or whose base is no longer its town's current generation
// (a generation of another town leaves it current).
func checkBase(ctx context.Context, tx pgx.Tx, p *geo.Plan, ifMatch geo.PlanTag) error {
	var cur int64
	if err := tx.QueryRow(ctx, q("plan_base_generation"), p.Town).Scan(&cur); err != nil {
		return err
	}
	if ifMatch != p.Tag() || cur != p.BaseGeneration {
		return &geo.StaleBaseError{Plan: p.ID, Base: p.BaseGeneration, Current: cur, Town: p.Town, IfMatch: ifMatch, Tag: p.Tag()}
	}
	return nil
}

// notBeforeLatest returns now, or the instant of the newest generation of
// any town when now is before it. Generations are ordered in time as by
// id (history finds the generation in force at t by created_at): a
// replica whose clock lags writes at the previous generation's instant
// rather than before it.
func notBeforeLatest(ctx context.Context, tx pgx.Tx, now time.Time) (time.Time, error) {
	var cur int64
	var curAt time.Time
	err := tx.QueryRow(ctx, q("generation_latest")).Scan(&cur, &curAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return now, nil
	} else if err != nil {
		return now, err
	}
	if now.Before(curAt) {
		return curAt, nil
	}
	return now, nil
}

// pauseBeforeCommit waits for the duration named by ApplyPauseEnv, if
// any: the crash test kills the server during this wait, inside the
// transaction, to prove that nothing of the apply survives.
func pauseBeforeCommit(ctx context.Context) error {
	d, err := time.ParseDuration(os.Getenv(ApplyPauseEnv))
	if err != nil || d <= 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
