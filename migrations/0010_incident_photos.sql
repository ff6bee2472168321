-- Photos attached to incidents as proof of work, and the Idempotency-Key
-- of incident events, so that an action a phone queued while offline and
-- sends again after reconnecting is applied once.

-- A photo is stored without its metadata (see geo/photofile), with the
-- SHA-256 of the stored bytes, which the database checks. Where the camera
-- said it was taken is kept as a point with the result of checking it
-- against the incident's grid. The same bytes are attached to an incident
-- once: a retried upload finds the first.
CREATE TABLE incident_photos (
    id             bigserial PRIMARY KEY,
    incident_id    bigint NOT NULL REFERENCES incidents (id),
    sha256         bytea NOT NULL CHECK (length(sha256) = 32),
    content_type   text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    bytes          integer NOT NULL CHECK (bytes > 0),
    width          integer NOT NULL CHECK (width > 0),
    height         integer NOT NULL CHECK (height > 0),
    location       geometry(Point, 4326),
    location_check text NOT NULL CHECK (location_check IN ('inside', 'near', 'outside', 'none')),
    distance_m     double precision CHECK (distance_m >= 0),
    data           bytea NOT NULL,
    uploaded_by    text NOT NULL,
    uploaded_at    timestamptz NOT NULL,
    CONSTRAINT incident_photo_once UNIQUE (incident_id, sha256),
    CONSTRAINT incident_photo_checksum CHECK (sha256 = sha256(data) AND bytes = length(data)),
    CONSTRAINT incident_photo_located CHECK ((location IS NULL) = (location_check = 'none'))
);
-- JPEG and PNG are compressed already: store them as they are, out of line.
ALTER TABLE incident_photos ALTER COLUMN data SET STORAGE EXTERNAL;

-- The Idempotency-Key an event was posted with, scoped to who posted it
-- and the incident, with the hash of the request body: a retry with the
-- same key and body answers the incident as it is without a second event;
-- the same key with another body is refused.
CREATE TABLE incident_event_keys (
    event_id     bigint PRIMARY KEY REFERENCES incident_events (id),
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    actor        text NOT NULL,
    key          text NOT NULL CHECK (key <> '' AND length(key) <= 200),
    request_hash bytea NOT NULL,
    CONSTRAINT incident_event_key_once UNIQUE (incident_id, actor, key)
);
