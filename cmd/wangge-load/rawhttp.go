package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// rawConn is a minimal HTTP/1.1 keep-alive client on one TCP connection:
// it writes prebuilt request bytes and parses just enough of the response
// (status, Content-Length or chunked framing, optionally the ETag) to find
// where the next one starts. net/http's client would cost more CPU than
// the server under test on a small machine and hide the server's speed.
type rawConn struct {
	conn net.Conn
	r    *bufio.Reader
	// etag is the ETag of the last response, when wantETag is set.
	etag     []byte
	wantETag bool
}

// maxChunks bounds the chunk loop of one chunked body.
const maxChunks = 1 << 20

// dialRaw connects to addr. Every read and write must end before deadline,
// so that a stuck server cannot hang the benchmark.
func dialRaw(addr string, deadline time.Time) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, err
	}
	return &rawConn{conn: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// Close closes the connection.
func (rc *rawConn) Close() error { return rc.conn.Close() }

// do sends one request and reads its response, discarding the body, and
// returns the status code and the body's length.
func (rc *rawConn) do(req []byte) (status, bodyLen int, err error) {
	if _, err := rc.conn.Write(req); err != nil {
		return 0, 0, err
	}
	return rc.readResponse()
}

// readResponse reads one response: status line, headers, body.
func (rc *rawConn) readResponse() (status, bodyLen int, err error) {
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, 0, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, 0, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, 0, fmt.Errorf("bad status line %q", line)
	}
	contentLength, chunked, err := rc.readHeaders()
	if err != nil {
		return status, 0, err
	}
	switch {
	case status == 204 || status == 304 || status < 200:
		return status, 0, nil
	case chunked:
		n, err := rc.discardChunked()
		return status, n, err
	case contentLength < 0:
		return status, 0, errors.New("response without Content-Length or chunked framing")
	}
	_, err = rc.r.Discard(contentLength)
	return status, contentLength, err
}

// readHeaders reads header lines up to the blank line and returns the
// Content-Length (-1 when absent) and whether the body is chunked. It
// fails on "Connection: close": the benchmark measures keep-alive.
func (rc *rawConn) readHeaders() (contentLength int, chunked bool, err error) {
	contentLength = -1
	for range 1000 {
		line, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) <= 2 { // "\r\n"
			return contentLength, chunked, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("bad header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if contentLength, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			return 0, false, errors.New("the server closes the connection (Connection: close)")
		case rc.wantETag && bytes.EqualFold(name, []byte("ETag")):
			rc.etag = append(rc.etag[:0], value...)
		}
	}
	return 0, false, errors.New("more than 1000 header lines")
}

// discardChunked reads and discards a chunked body and its trailers, and
// returns the body's length.
func (rc *rawConn) discardChunked() (int, error) {
	total := 0
	for range maxChunks {
		line, err := rc.r.ReadSlice('\n')
		if err != nil {
			return total, err
		}
		size, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil || n < 0 {
			return total, fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			_, _, err := rc.readHeaders() // trailers
			return total, err
		}
		if _, err := rc.r.Discard(int(n) + 2); err != nil { // data and CRLF
			return total, err
		}
		total += int(n)
	}
	return total, errors.New("too many chunks")
}

// getRequest builds "GET target HTTP/1.1" with the given extra header
// lines (each without CRLF).
func getRequest(target string, headers ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: x\r\n", target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// postJSONRequest builds a POST of a JSON body.
func postJSONRequest(target string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", target, len(body))
	b.Write(body)
	return b.Bytes()
}
