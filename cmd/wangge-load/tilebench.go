package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"

	"wangge/geo"
)

// sqlTileMVT is GET /tiles/grids/{z}/{x}/{y}.mvt's tile made by PostGIS:
// the current grids with the same attributes (the village's name and
// district, the leader in office), clipped with the same extent and
// buffer, as one MVT layer named grids with the code as feature id.
const sqlTileMVT = `SELECT ST_AsMVT(t, 'grids', 4096, 'geom', 'id') FROM (
    SELECT g.code::bigint AS id, g.code, g.name, g.village_code, v.name AS village_name, v.district_code,
        (SELECT p.name FROM assignments a JOIN people p ON p.id = a.person_id
         WHERE a.grid_code = g.code AND a.role = 'leader' AND a.starts_at <= now()
           AND (a.ends_at IS NULL OR a.ends_at > now())) AS leader,
        ST_AsMVTGeom(ST_Transform(g.geom, 3857), ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom
    FROM grids g JOIN villages v ON v.code = g.village_code
    WHERE g.retired_generation IS NULL
      AND g.geom && ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326)
) t WHERE t.geom IS NOT NULL`

// tileFigures are the vector tile measurements.
type tileFigures struct {
	tile                maptile.Tile
	bytes, gzBytes      int
	cold, warm, revalid *loadResult
	pgOne, pgMany       *loadResult
}

// measureTiles measures one z14 tile of the grids, the one at the centre
// of the town's bounding box, served by the API and made by PostGIS's
// ST_AsMVT in the same run:
//
//   - cold: each request follows a swap between two snapshots of the demo
//     town, so the API renders and gzips the tile anew every time (the
//     layer prepared once per snapshot is reused), over one connection,
//     since concurrent swaps would let some requests find the tile cached;
//   - warm: the cached gzipped tile, -c connections;
//   - 304: revalidated with its ETag, -c connections;
//   - PostGIS: the tile with the same attributes, over one connection
//     (against cold) and -c connections (against warm and 304).
//
// It first checks that PostGIS's tile and the API's hold the same grids.
func (b *bench) measureTiles(ctx context.Context, run int) error {
	o, addr := b.o, b.e.addr
	f := &tileFigures{tile: maptile.At(b.e.snap.Whole().Outline.Bound().Center(), 14)}
	path := fmt.Sprintf("/tiles/grids/%d/%d/%d.mvt", f.tile.Z, f.tile.X, f.tile.Y)
	if err := b.checkTiles(ctx, f, path); err != nil {
		return err
	}
	other, err := demoSnapshot(b.e.snap)
	if err != nil {
		return err
	}
	steps := []struct {
		name, what string
		run        func() (string, error)
	}{
		{"tile-cold", fmt.Sprintf("GET %s cold (rendered after a snapshot swap), 1 connection, %v", path, o.duration), func() (string, error) {
			var err error
			f.cold, err = tileCold(ctx, addr, path, &b.e.registry, []*geo.Snapshot{b.e.snap, other}, o.warmup(), o.duration)
			b.e.registry.Store(b.e.snap)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f tiles/s", f.cold.opsPerSec()), nil
		}},
		{"tile-warm", fmt.Sprintf("GET %s warm (cached, gzip), %d connections, %v", path, o.conns, o.duration), func() (string, error) {
			l := httpLoad{addr: addr, workers: o.conns, warmup: o.warmup(), duration: o.duration,
				requests: [][]byte{getRequest(path, "Accept-Encoding: gzip")}, items: 1, accept: statusIs(200)}
			var err error
			if f.warm, _, err = l.run(ctx); err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f tiles/s", f.warm.opsPerSec()), nil
		}},
		{"tile-304", fmt.Sprintf("GET %s with If-None-Match (304), %d connections, %v", path, o.conns, o.duration), func() (string, error) {
			etag, err := tileETag(addr, path)
			if err != nil {
				return "", err
			}
			l := httpLoad{addr: addr, workers: o.conns, warmup: o.warmup(), duration: o.duration,
				requests: [][]byte{getRequest(path, "Accept-Encoding: gzip", "If-None-Match: "+etag)}, items: 1, accept: statusIs(304)}
			if f.revalid, _, err = l.run(ctx); err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f calls/s", f.revalid.opsPerSec()), nil
		}},
		{"tile-postgis-1", fmt.Sprintf("PostGIS ST_AsMVT of the same tile, 1 connection, %v", o.duration), func() (string, error) {
			var err error
			if f.pgOne, err = pgTile(ctx, b.pool, f.tile, 1, o.warmup(), o.duration); err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f tiles/s", f.pgOne.opsPerSec()), nil
		}},
		{"tile-postgis-c", fmt.Sprintf("PostGIS ST_AsMVT of the same tile, %d connections, %v", o.conns, o.duration), func() (string, error) {
			var err error
			if f.pgMany, err = pgTile(ctx, b.pool, f.tile, o.conns, o.warmup(), o.duration); err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f tiles/s", f.pgMany.opsPerSec()), nil
		}},
	}
	for _, s := range steps {
		err := b.phase(ctx, s.what, func() (summary string, err error) {
			err = b.profiled(fmt.Sprintf("%s.%d", s.name, run+1), func() (err error) {
				summary, err = s.run()
				return err
			})
			return summary, err
		})
		if err != nil {
			return err
		}
	}
	b.addTileRows(f, path)
	return nil
}

// addTileRows adds the rows that compare the API's tile with PostGIS's.
func (b *bench) addTileRows(f *tileFigures, path string) {
	o, r := b.o, b.rep
	pg := func(conns int) string {
		return fmt.Sprintf("`ST_AsMVT(… ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%d, %d, %d), 4096, 64) …)`, same attributes, %d connection%s",
			f.tile.Z, f.tile.X, f.tile.Y, conns, map[bool]string{true: "", false: "s"}[conns == 1])
	}
	name := fmt.Sprintf("`GET %s` (z14, town centre, %s B, %s B gzipped)", path, thousands(int64(f.bytes)), thousands(int64(f.gzBytes)))
	r.rate(name+", cold: rendered and gzipped after a snapshot swap, 1 connection", "tiles/s", f.cold.opsPerSec()).
		vs(pg(1), f.pgOne.opsPerSec())
	r.rate(fmt.Sprintf("%s, warm: cached, gzip, %d connections", name, o.conns), "tiles/s", f.warm.opsPerSec()).
		vs(pg(o.conns), f.pgMany.opsPerSec())
	r.rate(fmt.Sprintf("%s, `If-None-Match` → 304, %d connections", name, o.conns), "calls/s", f.revalid.opsPerSec()).
		vs(pg(o.conns), f.pgMany.opsPerSec())
}

// checkTiles fetches the API's tile (plain and gzipped) and PostGIS's,
// records their sizes, and checks that both hold the same grids.
func (b *bench) checkTiles(ctx context.Context, f *tileFigures, path string) error {
	get := func(gz bool) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.e.addr+path, nil)
		if err != nil {
			return nil, err
		}
		// Set by hand, the header keeps the transport from asking for gzip
		// itself and from unzipping the body.
		req.Header.Set("Accept-Encoding", map[bool]string{true: "gzip", false: "identity"}[gz])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("GET %s: status %d", path, res.StatusCode)
		}
		return body, err
	}
	plain, err := get(false)
	if err != nil {
		return err
	}
	gz, err := get(true)
	if err != nil {
		return err
	}
	f.bytes, f.gzBytes = len(plain), len(gz)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return fmt.Errorf("GET %s with gzip: %w", path, err)
	}
	if unzipped, err := io.ReadAll(zr); err != nil || !bytes.Equal(unzipped, plain) {
		return fmt.Errorf("GET %s: the gzipped tile is not the plain one (%v)", path, err)
	}
	var pgTile []byte
	if err := b.pool.QueryRow(ctx, sqlTileMVT, int(f.tile.Z), int(f.tile.X), int(f.tile.Y)).Scan(&pgTile); err != nil {
		return fmt.Errorf("PostGIS tile: %w", err)
	}
	ours, theirs := tileIDs(plain), tileIDs(pgTile)
	if ours == nil || theirs == nil {
		return fmt.Errorf("decoding the tiles: API %d ids, PostGIS %d ids", len(ours), len(theirs))
	}
	b.logf("tile %d/%d/%d: API %d grids in %d B (%d B gzipped), PostGIS %d grids in %d B",
		f.tile.Z, f.tile.X, f.tile.Y, len(ours), len(plain), len(gz), len(theirs), len(pgTile))
	if !slices.Equal(ours, theirs) {
		b.note("WARNING: the API's tile %d/%d/%d holds %d grids, PostGIS's %d: the figures compare different tiles",
			f.tile.Z, f.tile.X, f.tile.Y, len(ours), len(theirs))
	}
	return nil
}

// tileIDs returns the sorted feature ids of an MVT's first layer, or nil
// when it does not decode.
func tileIDs(data []byte) []uint64 {
	layers, err := mvt.Unmarshal(data)
	if err != nil || len(layers) == 0 {
		return nil
	}
	ids := []uint64{}
	for _, f := range layers[0].Features {
		if id, ok := f.ID.(float64); ok {
			ids = append(ids, uint64(id))
		}
	}
	slices.Sort(ids)
	return ids
}

// demoSnapshot builds a second snapshot equal to snap in content and
// generation (a new index over the same grids), for the cold tile
// measurement to swap with.
func demoSnapshot(snap *geo.Snapshot) (*geo.Snapshot, error) {
	return geo.NewSnapshot(snap.Generation, &geo.Area{Towns: snap.Towns, Villages: snap.Villages, Grids: snap.Grids}, snap.LoadedAt)
}

// tileCold measures the tile at path on one connection, swapping the
// registry between snaps before each request so that none finds the tile
// cached.
func tileCold(ctx context.Context, addr, path string, reg *geo.Registry, snaps []*geo.Snapshot, warmup, d time.Duration) (*loadResult, error) {
	c, err := dialRaw(addr, time.Now().Add(warmup+d+ioSlack))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	req := getRequest(path, "Accept-Encoding: gzip")
	i := 0
	return runLoad(ctx, []op{func() (int, error) {
		i++
		reg.Store(snaps[i%len(snaps)])
		status, _, err := c.do(req)
		if err == nil && status != 200 {
			err = fmt.Errorf("GET %s: status %d", path, status)
		}
		return 1, err
	}}, warmup, d)
}

// tileETag fetches the tile once with gzip and returns its ETag.
func tileETag(addr, path string) (string, error) {
	c, err := dialRaw(addr, time.Now().Add(ioSlack))
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.wantETag = true
	status, _, err := c.do(getRequest(path, "Accept-Encoding: gzip"))
	switch {
	case err != nil:
		return "", err
	case status != 200 || len(c.etag) == 0:
		return "", fmt.Errorf("GET %s: status %d, ETag %q", path, status, c.etag)
	}
	return string(c.etag), nil
}

// pgTile measures PostGIS making the tile, reading the whole MVT.
func pgTile(ctx context.Context, pool *pgxpool.Pool, t maptile.Tile, workers int, warmup, d time.Duration) (*loadResult, error) {
	return pgLoad(ctx, pool, workers, warmup, d, func(_ int, c *pgx.Conn) op {
		var data []byte
		return func() (int, error) {
			if err := c.QueryRow(ctx, sqlTileMVT, int(t.Z), int(t.X), int(t.Y)).Scan(&data); err != nil {
				return 0, err
			}
			if len(data) == 0 {
				return 0, fmt.Errorf("PostGIS tile %d/%d/%d is empty", t.Z, t.X, t.Y)
			}
			return 1, nil
		}
	})
}
