-- The working structure of a township (issue #13, items 1 and 2):
--
-- * 片区 (districts) are working bodies: a 片区党工委 with one secretary at a
--   time and members, kept with history like the grids' appointments. An
--   escalation may go through the district's secretary between the village
--   and the town (a setting of the server).
-- * 联村 / 驻村 work teams (工作组): town cadres with one leader at a time and
--   members, and the villages they cover, with history. When a village has
--   no liaison leader on duty, its step of the fallback chain goes to the
--   leader of the team covering it.
--
-- People, as everywhere, are ended rather than deleted; appointments end
-- rather than disappear, so "who held it on that date" stays answerable.

CREATE TABLE district_appointments (
    id            bigserial PRIMARY KEY,
    town_code     text NOT NULL,
    district_code text NOT NULL,
    person_id     bigint NOT NULL REFERENCES people (id),
    role          text NOT NULL CHECK (role IN ('secretary', 'member')),
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz,
    FOREIGN KEY (town_code, district_code) REFERENCES districts (town_code, code),
    CONSTRAINT district_appointment_period CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT one_secretary_per_district EXCLUDE USING gist (town_code WITH =, district_code WITH =,
        tstzrange(starts_at, ends_at) WITH &&) WHERE (role = 'secretary'),
    -- A person sits on a district's body once at any moment (secretary or
    -- member, not both).
    CONSTRAINT district_seat_once EXCLUDE USING gist (town_code WITH =, district_code WITH =, person_id WITH =,
        tstzrange(starts_at, ends_at) WITH &&)
);
CREATE INDEX district_appointments_district ON district_appointments (town_code, district_code, role);
CREATE INDEX district_appointments_person ON district_appointments (person_id);

CREATE TABLE work_teams (
    id         bigserial PRIMARY KEY,
    town_code  text NOT NULL CHECK (town_code ~ '^[0-9]{9}$'),
    -- liaison: 联村工作组 (town cadres following villages); resident: 驻村工作组.
    kind       text NOT NULL CHECK (kind IN ('liaison', 'resident')),
    name       text NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL,
    ended_at   timestamptz,
    CONSTRAINT work_team_period CHECK (ended_at IS NULL OR ended_at >= created_at)
);
-- Among a town's teams that work, a name is one team.
CREATE UNIQUE INDEX work_teams_active_name ON work_teams (town_code, name) WHERE ended_at IS NULL;

CREATE TABLE work_team_members (
    id        bigserial PRIMARY KEY,
    team_id   bigint NOT NULL REFERENCES work_teams (id),
    person_id bigint NOT NULL REFERENCES people (id),
    role      text NOT NULL CHECK (role IN ('leader', 'member')),
    starts_at timestamptz NOT NULL,
    ends_at   timestamptz,
    CONSTRAINT work_team_member_period CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT one_leader_per_team EXCLUDE USING gist (team_id WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (role = 'leader'),
    CONSTRAINT team_seat_once EXCLUDE USING gist (team_id WITH =, person_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
);
CREATE INDEX work_team_members_person ON work_team_members (person_id);

-- Which villages a team covers, and when. A village is covered by one
-- team at a time, so that its step of the chain has one team leader.
CREATE TABLE work_team_villages (
    id           bigserial PRIMARY KEY,
    team_id      bigint NOT NULL REFERENCES work_teams (id),
    village_code text NOT NULL REFERENCES villages (code),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz,
    CONSTRAINT work_team_village_period CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT one_team_per_village EXCLUDE USING gist (village_code WITH =, tstzrange(starts_at, ends_at) WITH &&)
);
CREATE INDEX work_team_villages_team ON work_team_villages (team_id);

-- The new steps of the chain are recorded as their own roles: a team
-- leader at the village level (1), a district secretary above the village
-- (level 2, like the town: 小事不出村 still means levels 0 and 1).
ALTER TABLE incidents DROP CONSTRAINT incidents_assignee_role_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_assignee_role_check
    CHECK (assignee_role IN ('leader', 'deputy', 'liaison_leader', 'duty_desk', 'designee', 'team_leader', 'district_secretary'));

-- Whether person $1 sits on a district's body or a work team at $2: such
-- a person may sign in, and sees the incidents of the villages concerned.
CREATE FUNCTION wangge_holds_structure_seat(person bigint, at timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM district_appointments d
                   WHERE d.person_id = person AND d.starts_at <= at AND (d.ends_at IS NULL OR d.ends_at > at))
        OR EXISTS (SELECT 1 FROM work_team_members m JOIN work_teams t ON t.id = m.team_id
                   WHERE m.person_id = person AND m.starts_at <= at AND (m.ends_at IS NULL OR m.ends_at > at)
                     AND (t.ended_at IS NULL OR t.ended_at > at))
$$;
