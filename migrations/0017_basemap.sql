-- The base map the console draws under the grids, chosen by an admin at
-- run time (one row). The Tianditu key is stored sealed with the server's
-- secret key, never in clear; key_hint is its last four characters.
CREATE TABLE basemap_settings (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    provider    text NOT NULL DEFAULT 'none'
                CHECK (provider IN ('none', 'tianditu', 'amap', 'tencent', 'xyz', 'pmtiles')),
    url         text NOT NULL DEFAULT '',
    key_sealed  text NOT NULL DEFAULT '',
    key_hint    text NOT NULL DEFAULT '',
    layer       text NOT NULL DEFAULT '',
    file        text NOT NULL DEFAULT '',
    crs         text NOT NULL DEFAULT '' CHECK (crs IN ('', 'wgs84', 'gcj02')),
    attribution text NOT NULL DEFAULT '',
    max_zoom    smallint NOT NULL DEFAULT 0 CHECK (max_zoom BETWEEN 0 AND 20),
    updated_at  timestamptz,
    updated_by  text NOT NULL DEFAULT ''
);
INSERT INTO basemap_settings DEFAULT VALUES;
