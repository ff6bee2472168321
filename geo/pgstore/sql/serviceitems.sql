-- The catalogue of service items and the holiday calendar (serviceitems.go).

-- name: service_items_list
SELECT code, name_zh, description, coalesce(limit_workdays, 0), coalesce(limit_hours, 0), active, created_at, updated_at
FROM service_items
ORDER BY code;

-- name: service_item_lock
SELECT code, name_zh, description, coalesce(limit_workdays, 0), coalesce(limit_hours, 0), active, created_at, updated_at
FROM service_items
WHERE code = $1
FOR UPDATE;

-- name: service_item_by_key
-- The item a caller created with an Idempotency-Key, and the hash of that
-- request's body.
SELECT code, request_hash FROM service_items WHERE created_by = $1 AND idempotency_key = $2;

-- name: service_item_insert
-- A taken code fails on the primary key (ECONFLICT); a concurrent request
-- with the same Idempotency-Key inserts nothing and returns no row.
INSERT INTO service_items (code, name_zh, description, limit_workdays, limit_hours, active,
                           created_at, updated_at, created_by, idempotency_key, request_hash)
VALUES ($1, $2, $3, nullif($4::integer, 0), nullif($5::integer, 0), $6, $7, $7, $8, $9, $10)
ON CONFLICT ON CONSTRAINT service_item_idempotency DO NOTHING
RETURNING code;

-- name: service_item_update
UPDATE service_items
SET name_zh = $2, description = $3, limit_workdays = nullif($4::integer, 0), limit_hours = nullif($5::integer, 0),
    active = $6, updated_at = $7
WHERE code = $1;

-- name: calendar_days
SELECT to_char(date, 'YYYY-MM-DD'), kind, name FROM holidays ORDER BY date;

-- name: calendar_day_lock
SELECT kind, name FROM holidays WHERE date = $1::date FOR UPDATE;

-- name: calendar_day_put
INSERT INTO holidays (date, kind, name, updated_at, updated_by)
VALUES ($1::date, $2, $3, $4, $5)
ON CONFLICT (date) DO UPDATE SET kind = excluded.kind, name = excluded.name,
                                 updated_at = excluded.updated_at, updated_by = excluded.updated_by;

-- name: calendar_day_delete
DELETE FROM holidays WHERE date = $1::date RETURNING kind, name;
