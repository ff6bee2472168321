-- Issue 13, items 6, 4 and 5: the organization kinds become a catalogue
-- per town, edited by an admin; visit and meeting logs (走访, 两委会,
-- 党员大会, 群众大会) checked against the grids; party members (党员) and
-- their 联系户 links counted per grid.

-- 1. The catalogue of organization kinds, per town. A kind is a stable
-- ASCII code and a Chinese name; kinds in use by an organization of the
-- town cannot be deleted (the foreign key below).
CREATE TABLE organization_kinds (
    town_code   text NOT NULL CHECK (town_code ~ '^[0-9]{9}$'),
    code        text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
    name_zh     text NOT NULL CHECK (name_zh <> ''),
    description text NOT NULL DEFAULT '',
    position    integer NOT NULL DEFAULT 1000,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT 'migration',
    PRIMARY KEY (town_code, code)
);

-- The kinds the township reports name, seeded in every town (and in each
-- town imported later: the trigger on towns).
CREATE FUNCTION wangge_seed_organization_kinds(town text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO organization_kinds (town_code, code, name_zh, description, position)
    SELECT town, code, name_zh, description, position FROM (VALUES
        ('red_white_council', '红白喜事理事会', '“四会”之一(红白理事会):红白喜事简办、移风易俗', 10),
        ('health_committee', '爱卫会', '爱国卫生委员会:人居环境、卫生整治', 20),
        ('left_behind_children', '关心留守儿童工作委员会', '留守儿童的监护、安全与关爱', 30),
        ('mediation', '调解会', '纠纷调解会:矛盾纠纷的排查与调处', 40),
        ('party_group', '党员小组', '村(网格)党员小组', 50),
        ('villager_council', '村民议事会', '“四会”之一:村级事务的议事协商', 60),
        ('moral_council', '道德评议会', '“四会”之一:道德评议、典型评选', 70),
        ('anti_drug_gambling', '禁毒禁赌会', '“四会”之一:禁毒禁赌宣传与劝导', 80),
        ('sage_council', '村贤议事会', '乡贤、村贤参与村级事务议事', 90),
        ('rural_customs_council', '乡风理事会', '乡风文明建设', 100),
        ('other', '其他', '以上未列的其他组织', 1000)
    ) AS k (code, name_zh, description, position)
    ON CONFLICT (town_code, code) DO NOTHING;
$$;

CREATE FUNCTION wangge_town_organization_kinds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM wangge_seed_organization_kinds(NEW.code);
    RETURN NULL;
END;
$$;
CREATE TRIGGER towns_organization_kinds AFTER INSERT ON towns
    FOR EACH ROW EXECUTE FUNCTION wangge_town_organization_kinds();

SELECT wangge_seed_organization_kinds(t) FROM (
    SELECT code FROM towns
    UNION SELECT DISTINCT left(village_code, 9) FROM organizations WHERE village_code IS NOT NULL
) AS towns_in_use (t);

-- An organization's kind is one of its town's catalogue (the town of its
-- village); the fixed list is gone.
ALTER TABLE organizations DROP CONSTRAINT organizations_kind_check;
ALTER TABLE organizations ADD CONSTRAINT organizations_kind_code CHECK (kind ~ '^[a-z][a-z0-9_]{0,39}$');
ALTER TABLE organizations ADD COLUMN town_code text GENERATED ALWAYS AS (left(village_code, 9)) STORED;
ALTER TABLE organizations ADD CONSTRAINT organizations_kind_fkey
    FOREIGN KEY (town_code, kind) REFERENCES organization_kinds (town_code, code);

-- 2. Visit and meeting logs. The point is checked against the grids when
-- the visit is recorded: grid_code and village_code are the grid it fell in
-- (generation: the snapshot that said so); district_code is the village's
-- 片区 then.
CREATE TABLE visits (
    id             bigserial PRIMARY KEY,
    town_code      text NOT NULL CHECK (town_code ~ '^[0-9]{9}$'),
    kind           text NOT NULL CHECK (kind IN ('visit', 'committee_meeting', 'party_meeting', 'villager_meeting')),
    person_id      bigint NOT NULL REFERENCES people (id),
    held_at        timestamptz NOT NULL,
    location       geometry(Point, 4326) NOT NULL,
    grid_code      text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    village_code   text NOT NULL CHECK (village_code ~ '^[0-9]{12}$'),
    district_code  text NOT NULL DEFAULT '',
    generation     bigint NOT NULL,
    raised         text NOT NULL DEFAULT '',
    incident_id    bigint REFERENCES incidents (id),
    households     integer NOT NULL DEFAULT 0 CHECK (households BETWEEN 0 AND 10000),
    attendees      integer NOT NULL DEFAULT 0 CHECK (attendees BETWEEN 0 AND 100000),
    created_at     timestamptz NOT NULL,
    created_by     text NOT NULL
);
CREATE INDEX visits_town_held ON visits (town_code, held_at, id);
CREATE INDEX visits_person ON visits (person_id, held_at);
CREATE INDEX visits_grid ON visits (grid_code, held_at);

-- 3. Party members: whether a person is a party member (党员), since when;
-- 联系户 links (a member linked to households of a grid: "1+10") as counts,
-- with history. Membership of a 党员小组 is membership of an organization
-- of kind party_group (organization_members keeps its history).
CREATE TABLE party_members (
    person_id  bigint PRIMARY KEY REFERENCES people (id),
    member     boolean NOT NULL,
    joined_on  date,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);

CREATE TABLE party_links (
    id         bigserial PRIMARY KEY,
    person_id  bigint NOT NULL REFERENCES party_members (person_id),
    grid_code  text NOT NULL CHECK (grid_code ~ '^[0-9]{15}$'),
    households integer NOT NULL CHECK (households BETWEEN 1 AND 500),
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz,
    CONSTRAINT party_link_period CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT party_link_once EXCLUDE USING gist (person_id WITH =, grid_code WITH =, tstzrange(starts_at, ends_at) WITH &&)
);
CREATE INDEX party_links_grid ON party_links (grid_code, starts_at);

-- Photos of a visit, checked and stored as incidents' photos are (the same
-- size and pixel limits, metadata stripped, the EXIF position checked
-- against the visit's grid); at most 9 per visit.
CREATE TABLE visit_photos (
    id             bigserial PRIMARY KEY,
    visit_id       bigint NOT NULL REFERENCES visits (id),
    sha256         bytea NOT NULL CHECK (length(sha256) = 32),
    content_type   text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    width          integer NOT NULL CHECK (width > 0),
    height         integer NOT NULL CHECK (height > 0),
    location_check text NOT NULL CHECK (location_check IN ('inside', 'near', 'outside', 'none')),
    data           bytea NOT NULL,
    uploaded_by    text NOT NULL,
    uploaded_at    timestamptz NOT NULL,
    CONSTRAINT visit_photo_once UNIQUE (visit_id, sha256),
    CONSTRAINT visit_photo_checksum CHECK (sha256 = sha256(data))
);
