// The client parses XML only when driven in XML; the test drives it in JSON.
module.exports = { parseXml: function () { throw new Error('sparkxml stub: drive the client with format json'); } };
