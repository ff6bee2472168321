-- name: token_create
INSERT INTO api_tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4)
RETURNING id;

-- name: tokens_list
SELECT id, name, role, hash, created_at, revoked_at FROM api_tokens ORDER BY name, created_at;

-- name: tokens_active
SELECT id, name, role, hash, created_at FROM api_tokens WHERE revoked_at IS NULL;

-- name: token_revoke
UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL
RETURNING id;
