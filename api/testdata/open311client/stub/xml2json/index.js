// The client parses XML only when driven in XML; the test drives it in JSON.
module.exports = { toJson: function () { throw new Error('xml2json stub: drive the client with format json'); } };
