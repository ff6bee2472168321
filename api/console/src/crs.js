// Conversion of GCJ-02 (AMap, Tencent) and BD-09 (Baidu) points to WGS-84,
// and of WGS-84 to GCJ-02. It mirrors geo/chinacrs, which the server uses
// to route: the console needs it to put a marker where a searched point
// lies, and, over an AMap or Tencent base map (drawn in GCJ-02), to shift
// the few layers it does not ask the server for in GCJ-02 (the town
// outline, incidents, coverage problems, marks). Routing never depends on
// this file.

const KRASOVSKY_A = 6378245.0;
const KRASOVSKY_EE = 0.00669342162296594323;
const X_PI = (Math.PI * 3000.0) / 180.0;
const TOL = 1e-12;
const MAX_STEPS = 20;

// outOfChina: the rectangle outside which no offset applies.
function outOfChina(lon, lat) {
  return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271);
}

// gcjOffset is the GCJ-02 offset (dLon, dLat), in degrees, at a WGS-84 point.
function gcjOffset(lon, lat) {
  const x = lon - 105.0;
  const y = lat - 35.0;
  const xPi = x * Math.PI;
  const yPi = y * Math.PI;
  const d = 20.0 * Math.sin(6.0 * xPi) + 20.0 * Math.sin(2.0 * xPi);
  let tLat = d + (20.0 * Math.sin(yPi) + 40.0 * Math.sin(yPi / 3.0));
  let tLon = d + (20.0 * Math.sin(xPi) + 40.0 * Math.sin(xPi / 3.0));
  tLat += 160.0 * Math.sin(yPi / 12.0) + 320.0 * Math.sin(yPi / 30.0);
  tLon += 150.0 * Math.sin(xPi / 12.0) + 300.0 * Math.sin(xPi / 30.0);
  tLat *= 2.0 / 3.0;
  tLon *= 2.0 / 3.0;
  const sx = Math.sqrt(Math.abs(x));
  tLat += -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx;
  tLon += 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx;
  const radLat = (lat / 180.0) * Math.PI;
  const s = Math.sin(radLat);
  const magic = 1 - KRASOVSKY_EE * s * s;
  const sqrtMagic = Math.sqrt(magic);
  return [
    (tLon * 180.0) / ((KRASOVSKY_A / sqrtMagic) * Math.cos(radLat) * Math.PI),
    (tLat * 180.0) / (((KRASOVSKY_A * (1 - KRASOVSKY_EE)) / (magic * sqrtMagic)) * Math.PI),
  ];
}

// gcj02ToWGS84 inverts the GCJ-02 offset by fixed-point iteration.
function gcj02ToWGS84([lon0, lat0]) {
  if (outOfChina(lon0, lat0)) return [lon0, lat0];
  let lon = lon0;
  let lat = lat0;
  for (let i = 0; i < MAX_STEPS; i++) {
    const [dLon, dLat] = gcjOffset(lon, lat);
    const rLon = lon + dLon - lon0;
    const rLat = lat + dLat - lat0;
    lon -= rLon;
    lat -= rLat;
    if (Math.abs(rLon) <= TOL && Math.abs(rLat) <= TOL) break;
  }
  return [lon, lat];
}

// bd09ToGCJ02 inverts Baidu's transform by fixed-point iteration.
function bd09ToGCJ02([lon0, lat0]) {
  if (outOfChina(lon0, lat0)) return [lon0, lat0];
  const x = lon0 - 0.0065;
  const y = lat0 - 0.006;
  const r = Math.sqrt(x * x + y * y);
  const phi = Math.atan2(y, x);
  let gLon = x;
  let gLat = y;
  for (let i = 0; i < MAX_STEPS; i++) {
    const z = r - 0.00002 * Math.sin(gLat * X_PI);
    const theta = phi - 0.000003 * Math.cos(gLon * X_PI);
    const nLon = z * Math.cos(theta);
    const nLat = z * Math.sin(theta);
    const done = Math.abs(nLon - gLon) <= TOL && Math.abs(nLat - gLat) <= TOL;
    gLon = nLon;
    gLat = nLat;
    if (done) break;
  }
  return [gLon, gLat];
}

// toWGS84 converts [lon, lat] given in crs ("wgs84", "gcj02" or "bd09").
export function toWGS84(crs, p) {
  switch (crs) {
    case 'gcj02':
      return gcj02ToWGS84(p);
    case 'bd09':
      return outOfChina(p[0], p[1]) ? p : gcj02ToWGS84(bd09ToGCJ02(p));
    default:
      return p;
  }
}

// fromWGS84 converts a WGS-84 [lon, lat] to crs ("wgs84" or "gcj02").
export function fromWGS84(crs, p) {
  if (crs !== 'gcj02' || outOfChina(p[0], p[1])) return p;
  const [dLon, dLat] = gcjOffset(p[0], p[1]);
  return [p[0] + dLon, p[1] + dLat];
}

// shiftGeometry returns a GeoJSON geometry with every position passed
// through f.
export function shiftGeometry(g, f) {
  if (!g) return g;
  const walk = (c) => (typeof c[0] === 'number' ? f(c) : c.map(walk));
  if (g.type === 'GeometryCollection') return { ...g, geometries: g.geometries.map((x) => shiftGeometry(x, f)) };
  return { ...g, coordinates: walk(g.coordinates) };
}
