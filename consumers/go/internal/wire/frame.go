// Package wire decodes Kafka record values in the Confluent Schema Registry
// wire format for protobuf, exactly as confluent-kafka's ProtobufSerializer
// writes them:
//
//	0x00 | schema id (uint32, big-endian) | message-index array | protobuf bytes
//
// The message-index array is a zig-zag varint count followed by that many
// zig-zag varint indexes (the path of the message inside the schema file:
// [0] = first top-level message, [1, 2] = third nested message of the second
// one). The common case [0] is abbreviated to the single byte 0x00.
//
// Why hand-written instead of confluent-kafka-go's serde/protobuf
// Deserializer: that deserializer fetches the writer schema with
// GET /schemas/ids/{id}?subject=... and parses the answer as .proto source
// text. Apicurio 3.3.3 (our registry) answers with the base64
// FileDescriptorProto as it was registered, so every record fails with
// ".:1:1: syntax error: unexpected identifier". The framing is a few lines,
// and decoding into the generated types needs no registry at all (the same
// choice the Python consumers make: ProtobufDeserializer(Tick, {})).
// serde.SchemaID.FromBytes would parse the header, but it indexes the payload
// without bounds checks and panics on values shorter than 5 bytes.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// MagicByte is the first byte of every value framed by the Confluent serializers.
const MagicByte byte = 0x00

// HeaderMinLen is the shortest possible header: magic, schema id, index array 0x00.
const HeaderMinLen = 6

// ErrMalformed is wrapped by every framing error, so callers can tell bad
// data (skip the record) from other failures.
var ErrMalformed = errors.New("malformed value")

// Frame is a parsed record value.
type Frame struct {
	SchemaID       uint32
	MessageIndexes []int  // never empty: the abbreviated form 0x00 means [0]
	Payload        []byte // the protobuf bytes (aliases the input)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// ParseFrame splits a record value into schema id, message indexes and payload.
// It never panics: short, truncated or absurd input is an ErrMalformed error.
func ParseFrame(value []byte) (Frame, error) {
	if len(value) == 0 {
		return Frame{}, malformed("empty value (tombstone?)")
	}
	if value[0] != MagicByte {
		return Frame{}, malformed("magic byte 0x%02x, want 0x%02x", value[0], MagicByte)
	}
	if len(value) < 5 {
		return Frame{}, malformed("truncated schema id: %d bytes, want at least 5", len(value))
	}
	id := binary.BigEndian.Uint32(value[1:5])
	rest := value[5:]
	count, n := binary.Varint(rest)
	if n <= 0 {
		return Frame{}, malformed("truncated or invalid message-index count")
	}
	rest = rest[n:]
	if count == 0 {
		return Frame{SchemaID: id, MessageIndexes: []int{0}, Payload: rest}, nil
	}
	// Every index takes at least one byte, which bounds the allocation.
	if count < 0 || count > int64(len(rest)) {
		return Frame{}, malformed("message-index count %d with %d bytes left", count, len(rest))
	}
	indexes := make([]int, count)
	for i := range indexes {
		idx, n := binary.Varint(rest)
		if n <= 0 {
			return Frame{}, malformed("truncated or invalid message index %d of %d", i+1, count)
		}
		if idx < 0 || idx > math.MaxInt32 {
			return Frame{}, malformed("message index %d out of range", idx)
		}
		indexes[i] = int(idx)
		rest = rest[n:]
	}
	return Frame{SchemaID: id, MessageIndexes: indexes, Payload: rest}, nil
}

// AppendHeader writes the header ProtobufSerializer puts before a message
// (used by tests and by anyone who needs to produce the same bytes).
func AppendHeader(dst []byte, schemaID uint32, indexes []int) []byte {
	dst = append(dst, MagicByte)
	dst = binary.BigEndian.AppendUint32(dst, schemaID)
	if len(indexes) == 0 || (len(indexes) == 1 && indexes[0] == 0) {
		return append(dst, 0)
	}
	dst = binary.AppendVarint(dst, int64(len(indexes)))
	for _, idx := range indexes {
		dst = binary.AppendVarint(dst, int64(idx))
	}
	return dst
}
