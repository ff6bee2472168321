-- Plans: drafts of a redraw of the grid layer. A plan copies the grids and
-- village outlines of the generation it is opened on (its base), is edited,
-- validated and previewed, and is applied as one new generation. Drafts may
-- hold invalid geometries: validation reports them and repairs fix them, so
-- plan_grids has no validity constraint (grids has, and apply refuses a
-- plan with invalid geometries before writing).

CREATE TABLE plans (
    id                 bigserial PRIMARY KEY,
    note               text NOT NULL DEFAULT '',
    base_generation    bigint NOT NULL REFERENCES generations (id),
    status             text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'applied')),
    -- The plan whose changes this one replays onto a newer base, if any.
    rebased_from       bigint REFERENCES plans (id),
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    -- Bumped by every edit, so that a reader can tell two views apart.
    revision           integer NOT NULL DEFAULT 0,
    applied_by         text,
    applied_at         timestamptz,
    applied_generation bigint REFERENCES generations (id),
    CONSTRAINT plan_applied_complete CHECK (
        (status = 'applied') = (applied_generation IS NOT NULL)
        AND (applied_generation IS NULL) = (applied_by IS NULL)
        AND (applied_generation IS NULL) = (applied_at IS NULL)),
    CONSTRAINT plan_applied_after_base CHECK (applied_generation IS NULL OR applied_generation > base_generation)
);
CREATE INDEX plans_status ON plans (status, id);
-- One plan applied per generation: the generation lock serialises applies,
-- this makes it a fact of the schema.
CREATE UNIQUE INDEX plans_applied_generation ON plans (applied_generation) WHERE applied_generation IS NOT NULL;

-- The draft's grids. derived_from names the grids (of the base or of the
-- draft) whose area a split, merge or move gave this one: apply carries
-- their organizations over (within the village).
CREATE TABLE plan_grids (
    plan_id      bigint NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    code         text NOT NULL CHECK (code ~ '^[0-9]{15}$'),
    name         text NOT NULL CHECK (name <> ''),
    village_code text NOT NULL REFERENCES villages (code),
    households   integer NOT NULL DEFAULT 0 CHECK (households >= 0),
    population   integer NOT NULL DEFAULT 0 CHECK (population >= 0),
    geom         geometry(MultiPolygon, 4326) NOT NULL,
    derived_from text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (plan_id, code),
    CONSTRAINT plan_grid_code_in_village CHECK (left(code, 12) = village_code)
);
CREATE INDEX plan_grids_geom_gist ON plan_grids USING gist (geom);

-- The draft's village outlines: a move gives a grid's area to its new
-- village.
CREATE TABLE plan_villages (
    plan_id bigint NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    code    text NOT NULL REFERENCES villages (code),
    outline geometry(MultiPolygon, 4326) NOT NULL,
    PRIMARY KEY (plan_id, code)
);

-- Leaders the plan appoints, applied with it (by name and phone, as the
-- town import finds people).
CREATE TABLE plan_leaders (
    plan_id   bigint NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    grid_code text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    name      text NOT NULL CHECK (name <> ''),
    phone     text NOT NULL DEFAULT '',
    PRIMARY KEY (plan_id, grid_code)
);

-- The polygonal part of g, made valid when it is not: what the coverage
-- checks overlay, since GEOS cannot intersect invalid geometries. The
-- "structure" method keeps areas (shells minus holes) and drops collapsed
-- lines and points.
CREATE FUNCTION wangge_polygonal(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN ST_IsValid(g) THEN g
        ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(g, 'method=structure'), 3))
    END
$$;

-- The grid versions in force in generation gen. Plain SQL, so that the
-- planner inlines it and uses the indexes on grids.
CREATE FUNCTION wangge_grids_at_generation(gen bigint) RETURNS SETOF grids
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT * FROM grids WHERE generation <= gen AND (retired_generation IS NULL OR retired_generation > gen)
$$;
