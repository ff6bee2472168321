-- People, appointments and leave kept through the API and Excel rosters.

-- Among people who have not left, a person is known by name and phone: the
-- town import, rosters and the API all find people that way, so two such
-- rows with the same pair would make every match ambiguous. People who
-- left keep their rows (history) and may share the pair with a newcomer.
CREATE UNIQUE INDEX people_active_identity ON people (name, phone) WHERE ended_at IS NULL;

-- The town has one duty desk at any moment, like a grid has one leader;
-- and a person is a member of a grid at most once at any moment, so that a
-- roster applied twice cannot double a membership.
ALTER TABLE assignments ADD CONSTRAINT one_duty_desk
    EXCLUDE USING gist (role WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (role = 'duty_desk');
ALTER TABLE assignments ADD CONSTRAINT one_membership_per_grid
    EXCLUDE USING gist (grid_code WITH =, person_id WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (role = 'member');

-- Liaison leaders are looked up by village.
CREATE INDEX assignments_village ON assignments (village_code, role) WHERE village_code IS NOT NULL;
