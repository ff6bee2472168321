-- Organizations keep a contact person: the existing column `contact` holds
-- the contact's name, the new `contact_phone` the phone, apart so that the
-- phone can be withheld from callers who may not see personal data.
-- An organization has at most one chair at any moment.

ALTER TABLE organizations ADD COLUMN contact_phone text NOT NULL DEFAULT '';
COMMENT ON COLUMN organizations.contact IS 'name of the contact person (may be empty)';
COMMENT ON COLUMN organizations.contact_phone IS 'phone of the contact person, normalised (may be empty); personal data';

ALTER TABLE organization_members ADD CONSTRAINT one_chair_per_organization
    EXCLUDE USING gist (organization_id WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (role = 'chair');

CREATE INDEX organization_members_org ON organization_members (organization_id, starts_at);
CREATE INDEX organization_grids_org ON organization_grids (organization_id, starts_at);
