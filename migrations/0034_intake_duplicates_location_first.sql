-- Intake's possible-duplicate check (sql/incidents.sql, incident_create and
-- incident_create_batch) asks the open incidents of one category in a small
-- box. 0033's index answered it with category as its first column. A GiST
-- index splits its pages by the first column, and a town has a handful of
-- categories, so each leaf page held incidents from all over the town. On a
-- table of 100,000 open incidents, one check visited about 27 index pages,
-- and tested every entry on them, to find 22 candidates; walking the index
-- was 14% of PostgreSQL's CPU at 32 clients. With the place as the first
-- column the pages follow the map: 5% of the CPU, and an insert into the
-- index costs less than half (the same 100,000 rows inserted into each:
-- 0.9 s against 2.2 s). The predicate stays the check's status test, word
-- for word, so that the partial index applies.
CREATE INDEX incidents_open_location_category ON incidents USING gist (location, category)
    WHERE status NOT IN ('verified', 'closed', 'cancelled', 'merged');
DROP INDEX incidents_open_category_location;

-- No query looks incidents up by possible_duplicate_of. The index served
-- only the check of its self-reference when an incident is deleted, and
-- incidents are never deleted. Intake flags most incidents in a busy town,
-- so each of them paid for one more btree insert.
DROP INDEX incidents_duplicate_of;
