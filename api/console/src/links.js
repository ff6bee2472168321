// Reading a location out of what a dispatcher pastes: "lon,lat", or a
// share link or URI of AMap (高德), Baidu (百度) or Tencent (腾讯) maps, or a
// geo: URI. Each map app uses its own coordinate system and its own order,
// so the link says both:
//
//   AMap      uri.amap.com/marker?position=lon,lat[&coordinate=gaode|wgs84]   GCJ-02 unless coordinate=wgs84
//             …?markers=lon,lat,name|…, navigation?to=lon,lat,name, ?lng=&lat=, ?p=POI,lat,lon,…
//   Baidu     api.map.baidu.com/marker?location=lat,lng[&coord_type=bd09ll|gcj02|wgs84]   BD-09 by default
//             map.baidu.com/?latlng=lat,lng, baidumap://map/marker?location=lat,lng
//   Tencent   apis.map.qq.com/uri/v1/marker?marker=coord:lat,lng;…[&coord_type=1]   GCJ-02, 1 = GPS
//   geo:      geo:lat,lng   WGS-84 (RFC 5870)
//
// Short links (surl.amap.com, j.map.baidu.com, …) only say where they lead
// when followed, which needs the internet and the map company's server:
// the console works offline, so it says so instead of guessing.
//
// parseLocation returns {lon, lat, crs, via, note} (crs is null for bare
// numbers: the form keeps the CRS chosen) or {error}.

const SHORT_HOSTS = ['surl.amap.com', 'url.amap.com', 'j.map.baidu.com', 'j.baidu.com', 'dwz.cn', 't.cn', 'url.cn'];

const VIA = {
  amap: '高德地图 AMap',
  baidu: '百度地图 Baidu',
  tencent: '腾讯地图 Tencent',
  geo: 'geo: URI',
  text: '坐标 coordinates',
};

// viaName is how a source is named to the dispatcher.
export function viaName(via) {
  return VIA[via] || via;
}

function num(s) {
  if (s === undefined || s === null) return NaN;
  const t = String(s).trim();
  return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
}

// pair reads "a,b" (also with full-width commas or spaces) as two numbers.
function pair(s) {
  if (!s) return null;
  const parts = String(s).trim().split(/\s*[,，]\s*|\s+/).filter(Boolean);
  if (parts.length < 2) return null;
  const a = num(parts[0]);
  const b = num(parts[1]);
  return Number.isFinite(a) && Number.isFinite(b) ? [a, b] : null;
}

function ok(lon, lat, crs, via, note) {
  return { lon, lat, crs, via, note: note || '' };
}

function fail(zh, en) {
  return { error: `${zh} ${en}` };
}

// firstURL finds a link in a share text such as "【高德地图】某地 https://surl.amap.com/xyz".
function firstURL(text) {
  const m = text.match(/(?:https?:\/\/|baidumap:\/\/|amapuri:\/\/|androidamap:\/\/|iosamap:\/\/|qqmap:\/\/|geo:)[^\s"'<>，。）)】]+/i);
  return m ? m[0] : null;
}

function parseURL(raw) {
  try {
    // baidumap://map/marker?… and the like parse as URLs with a host.
    return new URL(raw);
  } catch {
    return null;
  }
}

function isHost(u, ...names) {
  const host = u.hostname.toLowerCase();
  return names.some((n) => host === n || host.endsWith(`.${n}`));
}

// amapCRS reads AMap's coordinate= (gaode, the default, or wgs84) and the
// app URIs' dev= (0: GCJ-02, 1: WGS-84).
function amapCRS(q) {
  const c = (q.get('coordinate') || '').toLowerCase();
  if (c === 'wgs84' || c === 'gps' || q.get('dev') === '1') return 'wgs84';
  return 'gcj02';
}

function fromAMap(u) {
  const q = u.searchParams;
  const crs = amapCRS(q);
  const note = crs === 'wgs84' ? '链接注明 coordinate=wgs84' : '';
  let p = pair(q.get('position'));
  if (p) return ok(p[0], p[1], crs, 'amap', note);
  for (const key of ['markers', 'to', 'destination', 'from', 'origin']) {
    p = pair((q.get(key) || '').split('|')[0]);
    if (p) return ok(p[0], p[1], crs, 'amap', [note, key].filter(Boolean).join(' · '));
  }
  const lon = num(q.get('lng') ?? q.get('lon') ?? q.get('dlon'));
  const lat = num(q.get('lat') ?? q.get('dlat'));
  if (Number.isFinite(lon) && Number.isFinite(lat)) return ok(lon, lat, crs, 'amap', note);
  // www.amap.com/?p=POIID,lat,lon,name,address
  const poi = (q.get('p') || '').split(',');
  if (poi.length >= 3) {
    const a = num(poi[1]);
    const b = num(poi[2]);
    if (Number.isFinite(a) && Number.isFinite(b)) return ok(b, a, crs, 'amap', [note, 'p=…,纬度,经度'].filter(Boolean).join(' · '));
  }
  if (q.get('poiid') || /\/place\//.test(u.pathname)) {
    return fail('这个高德链接只有地点编号 (POI ID)，没有坐标；离线无法查询，请在高德地图里“分享位置”复制带坐标的链接或直接复制坐标。',
      'This AMap link names a place (POI ID) without coordinates, which cannot be looked up offline: share the position instead, or copy its coordinates.');
  }
  return fail('这个高德链接里没有找到坐标 (position=经度,纬度)。', 'No coordinates (position=lon,lat) in this AMap link.');
}

// baiduCRS reads Baidu's coord_type (bd09ll, the default, gcj02, wgs84;
// bd09mc, Baidu's Mercator metres, is not supported).
function baiduCRS(q) {
  const c = (q.get('coord_type') || q.get('coordtype') || 'bd09ll').toLowerCase();
  if (c === 'wgs84' || c === 'gps') return { crs: 'wgs84', note: '链接注明 coord_type=wgs84' };
  if (c === 'gcj02') return { crs: 'gcj02', note: '链接注明 coord_type=gcj02' };
  if (c === 'bd09ll' || c === 'bd09') return { crs: 'bd09', note: '' };
  return { error: fail(`百度坐标类型 ${c} 不支持：请用经纬度 (bd09ll、gcj02 或 wgs84)。`, `Baidu coord_type ${c} is not supported: use bd09ll, gcj02 or wgs84.`) };
}

function fromBaidu(u) {
  const q = u.searchParams;
  const c = baiduCRS(q);
  if (c.error) return c.error;
  let p = pair(q.get('location') || q.get('latlng'));
  if (!p) {
    // direction?origin=latlng:lat,lng|name:…&destination=…
    for (const key of ['destination', 'origin']) {
      const m = (q.get(key) || '').match(/latlng:([^|]+)/);
      p = m ? pair(m[1]) : null;
      if (p) break;
    }
  }
  if (p) return ok(p[1], p[0], c.crs, 'baidu', [c.note, '链接里纬度在前 lat,lng'].filter(Boolean).join(' · '));
  if (/@-?\d+(\.\d+)?,-?\d+(\.\d+)?/.test(u.href)) {
    return fail('这个百度链接给的是百度墨卡托坐标 (@x,y)，不支持；请在百度地图里“分享”位置复制链接，或复制经纬度。',
      "This Baidu link holds Baidu Mercator metres (@x,y), which are not supported: share the place instead, or copy its lat,lng.");
  }
  return fail('这个百度链接里没有找到坐标 (location=纬度,经度)。', 'No coordinates (location=lat,lng) in this Baidu link.');
}

function fromTencent(u) {
  const q = u.searchParams;
  const crs = q.get('coord_type') === '1' ? 'wgs84' : 'gcj02';
  const m = (q.get('marker') || '').match(/coord:([^;|]+)/);
  const p = pair(m ? m[1] : q.get('coord') || q.get('center'));
  if (p) return ok(p[1], p[0], crs, 'tencent', [crs === 'wgs84' ? '链接注明 coord_type=1 (GPS)' : '', '链接里纬度在前 lat,lng'].filter(Boolean).join(' · '));
  return fail('这个腾讯地图链接里没有找到坐标 (coord:纬度,经度)。', 'No coordinates (coord:lat,lng) in this Tencent link.');
}

// plain reads "lon,lat". Two numbers in China's ranges are told apart by
// size (longitudes 73–135 are bigger than latitudes 3–54), so "27.2,112.1"
// is read as lat,lon and swapped, and the note says so.
function plain(text) {
  const parts = text.trim().split(/[\s,，;；]+/).filter(Boolean);
  if (parts.length !== 2) {
    return fail(`请输入“经度,纬度”或粘贴高德/百度分享链接，收到 "${text.trim().slice(0, 60)}"。`,
      'Enter lon,lat or paste an AMap or Baidu share link.');
  }
  const a = num(parts[0]);
  const b = num(parts[1]);
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    return fail(`“${parts[0]}, ${parts[1]}”不是两个数字。`, 'Want two numbers: longitude, latitude.');
  }
  const china = (lon, lat) => lon >= 73 && lon <= 136 && lat >= 3 && lat <= 54;
  if (!china(a, b) && china(b, a)) return ok(b, a, null, 'text', '按“纬度,经度”识别并对调 read as lat,lon');
  return ok(a, b, null, 'text', '');
}

// parseLocation reads what was pasted; see the top of this file.
export function parseLocation(input) {
  const text = String(input || '').trim();
  if (!text) return fail('请先给出位置。', 'No location given.');
  const raw = (firstURL(text) || '').replace(/&amp;/g, '&') || null;
  if (!raw) return plain(text);
  if (/^geo:/i.test(raw)) {
    const p = pair(raw.slice(4).split(/[;?]/)[0]);
    return p ? ok(p[1], p[0], 'wgs84', 'geo', '纬度在前 lat,lng') : fail('geo: URI 里没有坐标。', 'No coordinates in this geo: URI.');
  }
  const host = (raw.match(/^[a-z]+:\/\/([^/?#:]+)/i) || [])[1] || '';
  if (SHORT_HOSTS.includes(host.toLowerCase())) {
    return fail('这是短链接，要联网访问地图公司的服务器才能展开，离线无法解析：请在浏览器中打开它，复制展开后的完整链接或坐标再粘贴。',
      'This is a short link: only the map company\'s server can expand it, which needs the internet, and the console works offline. Open it in a browser and paste the full link or the coordinates.');
  }
  const u = parseURL(raw);
  if (!u) return fail('无法识别这个链接。', 'This link cannot be read.');
  if (/^(amapuri|androidamap|iosamap):$/.test(u.protocol) || isHost(u, 'amap.com', 'gaode.com', 'autonavi.com')) return fromAMap(u);
  if (u.protocol === 'baidumap:' || isHost(u, 'baidu.com')) return fromBaidu(u);
  if (u.protocol === 'qqmap:' || isHost(u, 'map.qq.com')) return fromTencent(u);
  return fail(`不认识的地图链接 (${u.hostname || u.protocol})：支持高德、百度、腾讯地图的分享链接，或直接输入“经度,纬度”。`,
    'Unknown map link: AMap, Baidu and Tencent share links are read, or enter lon,lat.');
}
