-- Incidents submitted through Open311 GeoReport v2 (api/open311.go) get
-- their own source, open311, instead of other: the record then says
-- which came from a third party's app and has an open311_requests row.
ALTER TABLE incidents DROP CONSTRAINT incidents_source_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_source_check
    CHECK (source IN ('hotline_12345', 'wechat', 'walk_in', 'patrol', 'other', 'open311'));
