package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Registers every txf.v1 message in protoregistry.GlobalTypes.
	_ "github.com/txfstream/txfstream/gen/go/txf/v1"

	"github.com/txfstream/txfstream/consumers/go/internal/topicmap"
)

// DefaultTopicTypes are the topic map's topics and messages (kit/txf_kit/subjects.toml,
// generated into internal/topicmap by `make gen`).
var DefaultTopicTypes = topicmap.Messages

// TopicTypes chooses the message type of each topic's values.
type TopicTypes map[string]protoreflect.MessageType

// NewTopicTypes is DefaultTopicTypes plus overrides (topic -> full message name).
func NewTopicTypes(overrides map[string]string) (TopicTypes, error) {
	t := TopicTypes{}
	for _, m := range []map[string]string{DefaultTopicTypes, overrides} {
		for topic, name := range m {
			mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
			if err != nil {
				return nil, fmt.Errorf("topic %s: unknown message type %q (known: %s)", topic, name, KnownTypes())
			}
			t[topic] = mt
		}
	}
	return t, nil
}

// For returns the message type of topic's values: the topic's own entry, else that of a topic-map
// topic it ends with after a prefix ending in '.', '-' or '_' (prod.txf-tick, leg-a.txf-bidask).
func (t TopicTypes) For(topic string) (protoreflect.MessageType, bool) {
	if mt, ok := t[topic]; ok {
		return mt, true
	}
	for name := range DefaultTopicTypes {
		if n := len(topic) - len(name); n > 0 && strings.HasSuffix(topic, name) && strings.ContainsRune(".-_", rune(topic[n-1])) {
			return t[name], t[name] != nil
		}
	}
	return nil, false
}

// KnownTypes lists the txf message types this program can decode.
func KnownTypes() string {
	var names []string
	protoregistry.GlobalTypes.RangeMessages(func(mt protoreflect.MessageType) bool {
		if n := string(mt.Descriptor().FullName()); strings.HasPrefix(n, "txf.") {
			names = append(names, n)
		}
		return true
	})
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Decode parses the frame and unmarshals its payload as a message of type mt.
// Errors wrap ErrMalformed.
func Decode(value []byte, mt protoreflect.MessageType) (Frame, proto.Message, error) {
	f, err := ParseFrame(value)
	if err != nil {
		return f, nil, err
	}
	msg, err := Unmarshal(f.Payload, mt)
	return f, msg, err
}

// Unmarshal decodes a frame's payload as a message of type mt. Errors wrap ErrMalformed.
func Unmarshal(payload []byte, mt protoreflect.MessageType) (proto.Message, error) {
	msg := mt.New().Interface()
	if err := proto.Unmarshal(payload, msg); err != nil {
		return nil, malformed("invalid %s payload: %v", mt.Descriptor().FullName(), err)
	}
	return msg, nil
}

// CanonicalJSON is the proto3 JSON mapping (lowerCamelCase names, 64-bit
// integers as strings, enums by name, default values omitted), compacted:
// protojson varies its whitespace on purpose, the output here is stable.
func CanonicalJSON(m proto.Message) (json.RawMessage, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Line is one line of output. The field order is part of the output format.
type Line struct {
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	SchemaID  uint32          `json:"schemaId"`
	Type      string          `json:"type"`
	Message   json.RawMessage `json:"message"`
}

// AppendLine appends l as one JSON line (with the trailing newline): what
// encoding/json's Encoder (SetEscapeHTML(false)) writes for l, built by hand
// because the Encoder re-validates and re-compacts Message on every record
// (2.3 us of a record's ~12). l.Message must be compact JSON, as CanonicalJSON
// returns it; the error result stays for callers written against the Encoder.
func AppendLine(dst []byte, l Line) ([]byte, error) {
	dst = append(dst, `{"topic":`...)
	dst = appendJSONString(dst, l.Topic)
	dst = append(dst, `,"partition":`...)
	dst = strconv.AppendInt(dst, int64(l.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, l.Offset, 10)
	dst = append(dst, `,"schemaId":`...)
	dst = strconv.AppendUint(dst, uint64(l.SchemaID), 10)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, l.Type)
	dst = append(dst, `,"message":`...)
	dst = append(dst, l.Message...)
	return append(dst, '}', '\n'), nil
}

// appendJSONString appends s as a JSON string; names of topics and types need
// no escaping, anything else goes through encoding/json (no HTML escaping).
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
