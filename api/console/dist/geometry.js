// Small planar helpers for the console: bounding boxes, areas and the label
// point of a grid. Coordinates are [lon, lat]; distances are computed with
// longitude scaled by cos(latitude), which is plenty for placing labels.

// bbox returns [minLon, minLat, maxLon, maxLat] of a Polygon or MultiPolygon.
export function bbox(geometry) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  for (const polygon of polygonsOf(geometry)) {
    for (const [x, y] of polygon[0]) {
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
    }
  }
  return b;
}

// polygonsOf returns the polygons of a Polygon or MultiPolygon.
export function polygonsOf(geometry) {
  if (geometry.type === 'Polygon') return [geometry.coordinates];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates;
  return [];
}

function ringArea(ring) {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    a += (ring[j][0] - ring[i][0]) * (ring[i][1] + ring[j][1]);
  }
  return a / 2;
}

// polygonArea is the planar area of a polygon in square degrees, holes
// subtracted.
function polygonArea(polygon) {
  let a = Math.abs(ringArea(polygon[0]));
  for (const hole of polygon.slice(1)) a -= Math.abs(ringArea(hole));
  return a;
}

// area is the planar area of a Polygon or MultiPolygon in square degrees:
// only for ranking labels.
export function area(geometry) {
  return polygonsOf(geometry).reduce((sum, p) => sum + polygonArea(p), 0);
}

// signedDistance is the distance from (x, y) to the polygon's boundary,
// positive inside and negative outside, in scaled degrees.
function signedDistance(x, y, polygon, k) {
  let inside = false;
  let best = Infinity;
  for (const ring of polygon) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [ax, ay] = ring[i];
      const [bx, by] = ring[j];
      if (ay > y !== by > y && x < ((bx - ax) * (y - ay)) / (by - ay) + ax) inside = !inside;
      best = Math.min(best, segmentDistance2(x, y, ax, ay, bx, by, k));
    }
  }
  return (inside ? 1 : -1) * Math.sqrt(best);
}

function segmentDistance2(px, py, ax, ay, bx, by, k) {
  let x = ax;
  let y = ay;
  let dx = (bx - ax) * k;
  let dy = by - ay;
  if (dx !== 0 || dy !== 0) {
    const t = ((px - ax) * k * dx + (py - ay) * dy) / (dx * dx + dy * dy);
    if (t > 1) {
      x = bx;
      y = by;
    } else if (t > 0) {
      x += (dx / k) * t;
      y += dy * t;
    }
  }
  dx = (px - x) * k;
  dy = py - y;
  return dx * dx + dy * dy;
}

// labelPoint returns the pole of inaccessibility of the largest polygon of
// a Polygon or MultiPolygon: the interior point farthest from its edges,
// found by quadtree search (the polylabel algorithm) to within precision
// degrees. Unlike the centroid it is always inside, even for an L-shaped grid.
export function labelPoint(geometry, precision = 5e-5) {
  let polygon = null;
  let largest = -1;
  for (const p of polygonsOf(geometry)) {
    const a = polygonArea(p);
    if (a > largest) {
      largest = a;
      polygon = p;
    }
  }
  if (!polygon) return null;
  const [minX, minY, maxX, maxY] = bbox({ type: 'Polygon', coordinates: polygon });
  const k = Math.cos((((minY + maxY) / 2) * Math.PI) / 180);
  const size = Math.min((maxX - minX) * k, maxY - minY);
  if (size === 0) return polygon[0][0];
  const cell = (x, y, h) => {
    const d = signedDistance(x, y, polygon, k);
    return { x, y, h, d, max: d + h * Math.SQRT2 };
  };
  // queue is kept sorted by the best distance a cell could hold, so the
  // most promising cell is popped from the end. h is half a cell's side in
  // scaled degrees: cells are square after scaling.
  const queue = [];
  const push = (c) => {
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (queue[mid].max < c.max) lo = mid + 1;
      else hi = mid;
    }
    queue.splice(lo, 0, c);
  };
  const h = size / 2;
  for (let y = minY; y < maxY; y += 2 * h) {
    for (let x = minX; x < maxX; x += (2 * h) / k) push(cell(x + h / k, y + h, h));
  }
  let best = cell((minX + maxX) / 2, (minY + maxY) / 2, 0);
  while (queue.length) {
    const c = queue.pop();
    if (c.d > best.d) best = c;
    if (c.max - best.d <= precision) continue;
    const q = c.h / 2;
    push(cell(c.x - q / k, c.y - q, q));
    push(cell(c.x + q / k, c.y - q, q));
    push(cell(c.x - q / k, c.y + q, q));
    push(cell(c.x + q / k, c.y + q, q));
  }
  return [best.x, best.y];
}
