-- A channel may hear only incidents of some severities (a county group
-- that wants only urgent ones); empty: all.
ALTER TABLE channels ADD COLUMN severities text[] NOT NULL DEFAULT '{}';
