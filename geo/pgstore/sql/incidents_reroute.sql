-- Routing decided again for open incidents when what it was decided from
-- changes: a plan applied (reroute) or an assignee's appointment ended
-- (handover). See incidents_reroute.go.

-- name: incidents_held_by
-- The numbers of the incidents in statuses $1 assigned to the holders of
-- ended assignments — person name $2[i] and phone $3[i] as role $4[i], on
-- grid $5[i] or village $6[i] ('' for none: the duty desk is town-wide) —
-- locked, oldest first.
SELECT i.number FROM incidents i
WHERE i.status = ANY($1)
  AND EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS e(name, phone, role, grid, village)
              WHERE i.assignee_name = e.name AND i.assignee_phone = e.phone AND i.assignee_role = e.role
                AND (e.grid = '' OR i.grid_code = e.grid) AND (e.village = '' OR i.village_code = e.village))
ORDER BY i.id
FOR UPDATE;

-- name: incident_reroute
-- The grid and the assignee decided again; the due time stays. The level
-- is the assignee's, and max_level the highest ever reached.
UPDATE incidents
SET grid_code = $2, village_code = $3, match = $4, distance_m = $5, generation = $6, co_notified = $7,
    status = $8, assignee_role = $9, assignee_name = $10, assignee_phone = $11, assignee_reason = $12,
    level = $13, max_level = greatest(max_level, $13)
WHERE id = $1;
