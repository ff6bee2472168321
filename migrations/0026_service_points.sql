-- Service points and duty rosters (issue 13, item 3): the places residents
-- get things done (便民服务中心/站, 党代表工作室, 群工站) as map features, with
-- their opening hours, the service items they handle and their staff; and
-- the duty rosters (值班/坐班) by date of the service points and of each
-- town's duty desk, which the incident fallback follows.

-- A service point is kept in versions: a change ends the current version
-- (valid_to) and starts the next one with the same id; ending the point
-- ends its last version without a next. The current version of a point is
-- the one without valid_to.
CREATE SEQUENCE service_point_ids;

CREATE TABLE service_points (
    version          bigserial PRIMARY KEY,
    id               bigint NOT NULL,
    town_code        text NOT NULL REFERENCES towns (code),
    village_code     text CHECK (village_code ~ '^[0-9]{12}$' AND left(village_code, 9) = town_code),
    kind             text NOT NULL CHECK (kind IN ('service_center', 'service_station', 'party_rep_studio', 'mass_work_station')),
    name             text NOT NULL CHECK (name <> ''),
    location         geometry(Point, 4326) NOT NULL,
    address          text NOT NULL DEFAULT '',
    -- The weekly schedule: {"mon": ["08:30-12:00", "14:30-17:30"], ...},
    -- days absent are closed (geo.OpeningHours).
    hours            jsonb NOT NULL DEFAULT '{}',
    open_on_holidays boolean NOT NULL DEFAULT false,
    services         text[] NOT NULL DEFAULT '{}',
    -- [{"name": "...", "phone": "...", "role": "..."}]: personal data, never
    -- sent to anonymous callers or viewers.
    staff            jsonb NOT NULL DEFAULT '[]',
    valid_from       timestamptz NOT NULL,
    valid_to         timestamptz,
    changed_by       text NOT NULL,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);

CREATE UNIQUE INDEX service_points_current ON service_points (id) WHERE valid_to IS NULL;
CREATE INDEX service_points_by_id ON service_points (id, valid_from);
CREATE INDEX service_points_location ON service_points USING gist (location) WHERE valid_to IS NULL;

-- A duty shift: who is on duty from starts_at to ends_at, at a service
-- point or (service_point_id NULL) at the town's duty desk. roster_date is
-- the day of the roster the shift belongs to (a night shift 20:00-08:00
-- belongs to the day it starts). An import replaces the shifts of the days
-- and places it names; past shifts stay, so who was on duty on a past date
-- can be asked.
CREATE TABLE duty_shifts (
    id               bigserial PRIMARY KEY,
    town_code        text NOT NULL REFERENCES towns (code),
    service_point_id bigint,
    roster_date      date NOT NULL,
    shift            text NOT NULL DEFAULT '',
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL,
    name             text NOT NULL CHECK (name <> ''),
    phone            text NOT NULL,
    imported_at      timestamptz NOT NULL,
    imported_by      text NOT NULL,
    CHECK (ends_at > starts_at AND ends_at - starts_at <= interval '48 hours')
);

CREATE INDEX duty_shifts_desk ON duty_shifts (town_code, ends_at) WHERE service_point_id IS NULL;
CREATE INDEX duty_shifts_point ON duty_shifts (service_point_id, ends_at);
CREATE INDEX duty_shifts_day ON duty_shifts (town_code, roster_date);
