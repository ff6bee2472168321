-- name: audit_write
INSERT INTO audit_log (at, actor, action, target, before, after, request_id)
VALUES ($1, $2, $3, $4, $5, $6, $7);
