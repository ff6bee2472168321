// Package gridindex is an immutable in-memory index that answers "which
// grid is this point in" for a set of grids that tile a town, in a few
// hundred nanoseconds and without allocating.
//
// # Semantics
//
// Grids are polygons or multi-polygons, possibly with holes, in longitude,
// latitude degrees on WGS-84 (EPSG:4326), treated as planar geometry exactly
// as PostGIS treats a geometry column: edges are straight in lon/lat. A grid
// covers a point when the point is in its interior or on its boundary, which
// is PostGIS's ST_Covers: a point on any edge or vertex, including a hole's,
// is covered; a point inside a hole is not. The decision is exact for
// float64 inputs (see Robustness), including for points on slanted edges
// whose coordinates are not representable. (PostGIS's own point-in-polygon
// shortcut for ST_Covers evaluates its side test in plain double precision,
// so for a point within a few ulps of a slanted edge PostGIS itself can be
// off, even placing the point in both or neither of two neighbours; the
// index gives the exact answer there.) Index.Locate turns the set of covering grids into one
// answer (inside, boundary with the smallest ID, or the nearest grid within
// a tolerance); Index.Covering returns the set itself.
//
// Entry IDs are positions in the slice given to New. The caller sorts grids
// by code, so "smallest ID" means "smallest grid code".
//
// # Layout
//
// Entries are stored in the order of the R-tree's leaves ("slots"), which
// follows a Hilbert curve, so grids close in space are close in memory. All
// vertices live in one []orb.Point; each ring is stored closed, so edge i is
// pts[i]-pts[i+1]. Rings are ranges of that array, slots ranges of rings,
// and a bitset marks which ring starts a polygon; no per-grid slices are
// kept.
//
// The R-tree is a static packed Hilbert R-tree (flatbush-style, 16 boxes per
// node, every level padded to whole nodes, no pointers). A leaf is a small
// struct holding the entry's box, its ID and the offset of its vertices, so
// for the common single-ring grid a lookup reads a group of leaves and then
// the candidate's vertices: two dependent memory accesses below the
// (cache-resident) upper levels. Internal nodes are a flat float32 box array
// and a child-offset array. Boxes are float32 rounded outwards: they only
// filter candidates, and halving them matters once the index outgrows the
// caches. A query walks the tree with a fixed-size stack on the goroutine
// stack.
//
// When every entry has a single ring (the usual case), the ring and slot
// offset arrays are left out: slot s owns ring s, which starts at its
// leaf's vertex offset. At a million ten-vertex grids the index then holds
// about 201 bytes per grid, 176 of them vertices, and 208 with the
// directory below (there is no ID-to-slot table: Geometry, for tests,
// searches the leaves).
//
// # Directory
//
// On a layer of at least 16,384 entries without a raster (a national layer
// of small grids), cover does not walk the tree: a uniform directory of
// cells about two mean leaf boxes wide and high (at most one cell per four
// entries, 32 bytes a cell: 5.9 MiB at a million grids) lists for each cell
// up to three runs of consecutive slots holding every leaf whose box
// reaches the cell (gaps of up to four slots closed, then the closest runs
// merged), with each run's first vertex offset. A lookup reads one cell,
// touches each run's vertices (at its start and 2 KiB on) while it tests
// the dozen or so leaf boxes of its runs, and runs point-in-polygon on those
// that hold the point: two dependent memory reads (cell, then leaves and
// vertices together; the vertex array's page walk no longer waits for the
// leaf) and no internal nodes. A
// cell whose runs would span more than 64 slots defers to the tree (the
// directory is dropped when more than one cell in 16 would). Boxes are
// listed in every cell between the cells of their corners under the same
// monotone cell functions that place a point, so no rounding loses a
// candidate. The tree stays for the nearest-grid search.
//
// # Raster
//
// Before the tree, a coarse raster over the index's bound widened by 500 m
// (at most a quarter of its size; up to 256 cells per entry over the
// bound, as many again per area over the margin, and 2^18 in all, 4 bytes
// a cell) answers most points of a town at once: a cell that no edge's box
// reaches lies wholly inside one entry (the point is Inside it, no edge
// tested) or wholly outside every entry (the point is uncovered; the cell
// stores a lower bound in metres of its distance to every edge, so a
// smaller tolerance rejects the point and a larger one goes straight to
// the nearest-grid search). Other cells, and points outside the raster,
// take the tree. A point outside the bound is first rejected when the
// bound alone proves it farther than the tolerance (a few multiplications
// with precomputed scales, no trigonometry). The raster is dropped when it
// would decide fewer than an eighth of its cells, as for a million small
// grids, where it would cost a cache miss and save nothing. See raster.go
// for why no rounding can put a boundary point in a cell the raster
// decides.
//
// Cells within 400 m of an edge that are not wholly inside one entry also
// carry a candidate list (nearcell.go): the edges that can be the nearest
// edge of some point of the cell (an edge is left out only when a lower
// bound of its distance from every point of the cell exceeds an upper bound
// of the nearest distance of every point of the cell), each with that
// lower bound, sorted by it. The smallest bound of an uncovered cell's list
// also tightens the cell's clearance. Lists hold at most 32 edges (a cell
// with more has none), are left out where every edge reaching the cell is
// shared by two entries (such a cell is normally covered throughout), and
// cost 12 bytes an edge: the town of the benchmarks (230 grids) goes from
// 0.5 to 1.5 MiB, and its build from about 12 to 55 ms.
//
// # Point in polygon
//
// For each entry whose box holds the point, a ray from the point towards +x
// is tested against every edge of every ring of the entry; an odd number of
// crossings means inside, which handles holes, multi-polygons and either
// ring orientation with no extra bookkeeping. An edge a->b counts under the
// half-open rule (min(a.y, b.y) <= p.y < max(a.y, b.y)), decided by the
// sign of robust.Orient(a, b, p) rather than by computing an intersection: upward
// edges cross when p is left of them, downward edges when it is right. An
// edge with orient == 0 whose closed box holds p holds p itself: the point
// is on the boundary and the search for that entry stops.
//
// Entries with more than 24 edges also get a y-slab index: their box's
// height is cut into one horizontal cell per edge, each listing the edges
// whose closed y range overlaps it. Only the edges of the point's cell can
// cross the ray or hold the point, so a lookup tests a handful of edges.
// Edges are assigned with the same float expression that locates the point,
// which is monotone in y, so no edge is missed by rounding. Entries with
// several rings or a slab index are flagged in their leaf and take this
// general path; plain single-ring entries loop over their ring directly.
//
// # Robustness
//
// orient is exact. A float evaluation is accepted when Shewchuk's error
// bound proves its sign; products are wrapped in explicit float64()
// conversions because the Go spec lets the compiler fuse a multiply and add,
// which would void that bound. Exactly collinear cases with a zero factor
// (points on vertices, horizontal or vertical edges) are recognised from the
// signs of the differences; whatever remains (points within a few ulps of a
// slanted edge) is evaluated with math/big at a precision that makes every
// step exact for any finite float64 input. That path allocates and takes a
// few hundred nanoseconds, but random points essentially never reach it.
//
// # Nearest
//
// A point covered by no grid is routed to the closest grid whose boundary
// is within the tolerance, measured in metres on the WGS-84 spheroid by
// package wangge/geo/spheroid (a local tangent-plane metric accurate to
// better than 1e-6 relative up to a few kilometres). Candidates come from
// the R-tree, searching a box widened from the tolerance with margin; ties
// go to the smallest ID. Candidates and edges are pruned by a conservative
// lower bound of their distance (box distance times the fewest metres per
// degree the measure can use), candidates visited in order of it, so only
// edges that may be the closest are measured on the spheroid; the answer is
// the exhaustive search's. The path allocates only beyond 64 candidates and
// costs one to two microseconds for a point within the tolerance.
//
// A point in a raster cell with a candidate list is answered from the list
// instead, with no tree walk: the planar lower bound of each listed edge's
// distance from the point (with the smallest metres per degree the measure
// can use in the cell's row) picks the edge measured first, and the others
// are measured only when their bound does not exceed the best distance so
// far (about 1.3 spheroid measurements a point on the benchmark's gappy
// town). The answer is still the exhaustive search's, bit for bit, ties to
// the smallest ID: every edge that can be the nearest is listed, and the
// winner's box provably meets the exhaustive search's box (tolerances of at
// least 1 mm; below that the tree search answers).
//
// # Testing aids
//
// JitteredCoverage builds synthetic tilings (a jittered lattice whose
// neighbours share bit-identical vertices) for tests and benchmarks.
package gridindex
