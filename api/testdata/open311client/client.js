// Drives the Open311 client library (npm: open311, codeforamerica/node-open311)
// through a whole exchange with a wangge server and prints what the library
// returned, as one JSON object, for api/open311_client_test.go to check:
// the service list, a submitted request, that request read back by id, the
// open requests, and the token lookup.
//
//   node client.js ENDPOINT API_KEY JURISDICTION LAT LONG
'use strict';
const Open311 = require('open311');

const [endpoint, apiKey, jurisdiction, lat, long] = process.argv.slice(2);
const client = new Open311({ endpoint: endpoint, apiKey: apiKey, jurisdiction: jurisdiction, format: 'json' });
const out = {};

function step(name, fn) {
  return new Promise(function (resolve, reject) {
    fn(function (err, data) {
      if (err) { reject(new Error(name + ': ' + JSON.stringify(data))); return; }
      out[name] = data;
      resolve(data);
    });
  });
}

(async function () {
  const services = await step('services', function (cb) { client.serviceList(cb); });
  const code = services[0].service_code;
  await step('definition', function (cb) { client.serviceDefinition(code, cb); });
  const created = await step('submitted', function (cb) {
    client.submitRequest({ service_code: code, lat: lat, long: long, description: '村口路灯不亮，晚上看不见路',
      first_name: '秀英', last_name: '李', phone: '13912345678', email: 'li@example.cn',
      address_string: '荷叶镇 村口', media_url: 'https://example.cn/p/1.jpg', device_id: 'dev-1', account_id: 'acct-9' }, cb);
  });
  const id = created[0].service_request_id;
  await step('byId', function (cb) { client.serviceRequest(id, cb); });
  // Searching needs the key (the town's complaints are not public); the
  // library sends it as a query argument.
  await step('open', function (cb) { client.serviceRequests({ status: 'open', service_code: code, api_key: apiKey }, cb); });
  await step('byIds', function (cb) { client.serviceRequests([id], cb); });
  process.stdout.write(JSON.stringify(out));
})().catch(function (e) {
  process.stderr.write(String(e && e.stack || e));
  process.exit(1);
});
