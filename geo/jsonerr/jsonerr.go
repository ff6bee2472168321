// Package jsonerr turns encoding/json errors into messages that say where
// the input is wrong (line and column) and what was expected, for the
// problem responses and import reports.
package jsonerr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Describe explains err, returned by decoding data.
func Describe(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return "empty input: want a JSON value"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("malformed JSON: it ends too early, after %d bytes (truncated?)", len(data))
	case errors.As(err, &syn):
		line, col := LineCol(data, syn.Offset)
		return fmt.Sprintf("malformed JSON at line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		line, col := LineCol(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("%s at line %d, column %d: got JSON %s, want %s", field, line, col, typ.Value, typ.Type)
	}
	return err.Error()
}

// LineCol converts a byte offset in data to a 1-based line and column.
func LineCol(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	return bytes.Count(before, []byte{'\n'}) + 1, int(offset) - bytes.LastIndexByte(before, '\n')
}
