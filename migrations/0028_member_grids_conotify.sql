-- Issue 13, item 6: an organization's members tied to the grids they
-- serve, with history; and co-notification set per kind in the catalogue.

-- Which grids a member serves, and when: [starts_at, ends_at), inside the
-- membership. The grid is one of the organization's town (checked when
-- written); the code is stable across redraws, like organization_grids.
CREATE TABLE organization_member_grids (
    id         bigserial PRIMARY KEY,
    member_id  bigint NOT NULL REFERENCES organization_members (id),
    grid_code  text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz,
    CONSTRAINT member_grid_period CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT member_grid_once EXCLUDE USING gist (member_id WITH =, grid_code WITH =, tstzrange(starts_at, ends_at) WITH &&)
);
CREATE INDEX organization_member_grids_grid ON organization_member_grids (grid_code, starts_at);
CREATE INDEX organization_member_grids_member ON organization_member_grids (member_id, starts_at);

-- The categories of incident whose co-notification reaches the
-- organizations of a kind. NULL: as the server's --co-notify says (its
-- default for the seeded kinds); an array, even empty, overrides it.
-- Categories are checked by the server (the service-item catalogue may
-- add some), not here.
ALTER TABLE organization_kinds ADD COLUMN co_notify text[];
