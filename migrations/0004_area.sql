-- Area in m² on the spheroid, robust for slivers. PostGIS's geography area
-- is numerically unstable for strips thinner than float noise: a
-- 3e-15°-wide, 3 km long sliver measured 156 m² (PostGIS 3.3). Parts under
-- 1e-12 deg² (about 0.01 m²) are measured as planar degrees scaled at
-- their latitude instead, which is exact enough to compare with the
-- import tolerances (0.01 m² and 1 m²).
CREATE FUNCTION wangge_area_m2(g geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN ST_IsEmpty(g) THEN 0
        WHEN ST_Area(g) < 1e-12
            THEN ST_Area(g) * (pi() / 180 * 6371008.8) ^ 2 * cos(radians((ST_YMin(g) + ST_YMax(g)) / 2))
        ELSE ST_Area(g::geography)
    END
$$;
