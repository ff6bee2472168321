-- name: token_create
INSERT INTO api_tokens (name, role, hash, created_at, town_code) VALUES ($1, $2, $3, $4, $5)
RETURNING id;

-- name: token_town_exists
SELECT EXISTS (SELECT 1 FROM towns WHERE code = $1);

-- name: tokens_list
SELECT id, name, role, hash, created_at, revoked_at, coalesce(town_code, '') FROM api_tokens ORDER BY name, created_at;

-- name: tokens_active
SELECT id, name, role, hash, created_at, coalesce(town_code, '') FROM api_tokens WHERE revoked_at IS NULL;

-- name: token_revoke
UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL
RETURNING id;
