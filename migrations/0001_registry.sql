-- The grid registry: town, liaison districts, villages, versioned grids,
-- people, their assignments and leave, organizations and what they serve.
-- Geometry is EPSG:4326 (lon/lat on WGS-84); areas and distances are computed
-- on the spheroid with ::geography.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist; -- "=" on text inside EXCLUDE constraints

-- One town per database: `wangge import` replaces it.
CREATE TABLE town (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    code      text NOT NULL CHECK (code ~ '^[0-9]{9}$'),
    name      text NOT NULL CHECK (name <> ''),
    county    text NOT NULL DEFAULT '',
    province  text NOT NULL DEFAULT '',
    note      text NOT NULL DEFAULT '',
    outline   geometry(MultiPolygon, 4326) NOT NULL
              CONSTRAINT town_outline_valid CHECK (ST_IsValid(outline))
);

CREATE TABLE districts (
    code       text PRIMARY KEY CHECK (code <> ''),
    name       text NOT NULL CHECK (name <> ''),
    retired_at timestamptz
);

-- Villages stay after they leave the town (retired_at), because historical
-- grid versions and incidents refer to them.
CREATE TABLE villages (
    code          text PRIMARY KEY CHECK (code ~ '^[0-9]{12}$'),
    name          text NOT NULL CHECK (name <> ''),
    district_code text REFERENCES districts (code),
    outline       geometry(MultiPolygon, 4326) NOT NULL
                  CONSTRAINT village_outline_valid CHECK (ST_IsValid(outline)),
    retired_at    timestamptz
);
CREATE INDEX villages_outline_gist ON villages USING gist (outline);

-- A generation is one version of the whole grid layer.
CREATE TABLE generations (
    id         bigint PRIMARY KEY CHECK (id > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    note       text NOT NULL DEFAULT ''
);

-- A row is one version of a grid, in force for generations
-- [generation, retired_generation) and times [valid_from, valid_to).
-- An unchanged grid keeps its row across generations.
CREATE TABLE grids (
    id                 bigserial PRIMARY KEY,
    code               text NOT NULL CHECK (code ~ '^[0-9]{15}$'),
    name               text NOT NULL CHECK (name <> ''),
    village_code       text NOT NULL REFERENCES villages (code),
    households         integer NOT NULL DEFAULT 0 CHECK (households >= 0),
    population         integer NOT NULL DEFAULT 0 CHECK (population >= 0),
    geom               geometry(MultiPolygon, 4326) NOT NULL
                       CONSTRAINT grid_geom_valid CHECK (ST_IsValid(geom)),
    generation         bigint NOT NULL REFERENCES generations (id),
    retired_generation bigint REFERENCES generations (id),
    valid_from         timestamptz NOT NULL,
    valid_to           timestamptz,
    CONSTRAINT grid_code_in_village CHECK (left(code, 12) = village_code),
    CONSTRAINT grid_generations_ordered CHECK (retired_generation IS NULL OR retired_generation > generation),
    CONSTRAINT grid_validity_ordered CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CONSTRAINT grid_retired_together CHECK ((retired_generation IS NULL) = (valid_to IS NULL)),
    -- Two versions of one code are never in force at the same moment.
    CONSTRAINT grid_versions_disjoint EXCLUDE USING gist (code WITH =, tstzrange(valid_from, valid_to) WITH &&)
);
CREATE UNIQUE INDEX grids_current_code ON grids (code) WHERE retired_generation IS NULL;
CREATE INDEX grids_geom_gist ON grids USING gist (geom);
CREATE INDEX grids_current_geom_gist ON grids USING gist (geom) WHERE retired_generation IS NULL;
CREATE INDEX grids_generation ON grids (generation, retired_generation);

-- People: no national ID number is ever stored. A person who leaves is
-- ended, not deleted.
CREATE TABLE people (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (name <> ''),
    phone      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz
);

-- Who holds which role where, and when. Leader, deputy and member are held
-- on a grid (by code, stable across redraws); liaison_leader on a village;
-- duty_desk on the town.
CREATE TABLE assignments (
    id           bigserial PRIMARY KEY,
    person_id    bigint NOT NULL REFERENCES people (id),
    role         text NOT NULL CHECK (role IN ('leader', 'deputy', 'member', 'liaison_leader', 'duty_desk')),
    grid_code    text CHECK (grid_code ~ '^[0-9]{15}$'),
    village_code text REFERENCES villages (code),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz,
    CONSTRAINT assignment_scope CHECK (
        CASE role
            WHEN 'liaison_leader' THEN grid_code IS NULL AND village_code IS NOT NULL
            WHEN 'duty_desk' THEN grid_code IS NULL AND village_code IS NULL
            ELSE grid_code IS NOT NULL AND village_code IS NULL
        END),
    CONSTRAINT assignment_period CHECK (ends_at IS NULL OR ends_at > starts_at),
    -- At most one leader (and one deputy) per grid at any moment.
    CONSTRAINT one_leader_per_grid EXCLUDE USING gist (grid_code WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (role = 'leader'),
    CONSTRAINT one_deputy_per_grid EXCLUDE USING gist (grid_code WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (role = 'deputy'),
    CONSTRAINT one_liaison_leader_per_village EXCLUDE USING gist (village_code WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (role = 'liaison_leader')
);
CREATE INDEX assignments_grid ON assignments (grid_code, role);
CREATE INDEX assignments_person ON assignments (person_id);

-- Leave (on leave, sick, training): dispatch routes to the deputy inside it.
CREATE TABLE leaves (
    id        bigserial PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    starts_at timestamptz NOT NULL,
    ends_at   timestamptz NOT NULL,
    note      text NOT NULL DEFAULT '',
    CONSTRAINT leave_period CHECK (ends_at > starts_at)
);
CREATE INDEX leaves_person ON leaves (person_id);

CREATE TABLE organizations (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('red_white_council', 'health_committee', 'left_behind_children', 'mediation', 'party_group', 'other')),
    name         text NOT NULL CHECK (name <> ''),
    village_code text REFERENCES villages (code),
    contact      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    CONSTRAINT organization_name_unique UNIQUE (village_code, kind, name)
);

CREATE TABLE organization_members (
    id              bigserial PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    person_id       bigint NOT NULL REFERENCES people (id),
    role            text NOT NULL CHECK (role IN ('chair', 'member')),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz,
    CONSTRAINT member_period CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT member_once EXCLUDE USING gist (organization_id WITH =, person_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
);

-- Which grids an organization serves, and when.
CREATE TABLE organization_grids (
    id              bigserial PRIMARY KEY,
    organization_id bigint NOT NULL REFERENCES organizations (id),
    grid_code       text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz,
    CONSTRAINT attachment_period CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT attachment_once EXCLUDE USING gist (organization_id WITH =, grid_code WITH =, tstzrange(starts_at, ends_at) WITH &&)
);
CREATE INDEX organization_grids_grid ON organization_grids (grid_code);
