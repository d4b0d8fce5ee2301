// Golden-vector test of the Go binding: every vector in tests/vectors/txf_v1.json
// decodes to its canonical JSON and re-encodes to the same bytes.
package gen_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/txfstream/txfstream/gen/go/txf/v1" // registers every txf.v1 message
)

type vector struct {
	Name string          `json:"name"`
	Type string          `json:"type"`
	Hex  string          `json:"hex"`
	JSON json.RawMessage `json:"json"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	path := os.Getenv("TXF_VECTORS")
	if path == "" {
		path = "../../tests/vectors/txf_v1.json"
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var file struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors in file")
	}
	return file.Vectors
}

// newMessage finds a vector's message type by its full name among the generated
// package's registered types, so a message added to the contract needs no change here.
func newMessage(t *testing.T, typ string) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(typ))
	if err != nil {
		t.Fatalf("message type %q is not in gen/go: %v", typ, err)
	}
	return mt.New().Interface()
}

// sameJSON compares JSON documents structurally: protojson's whitespace is
// deliberately unstable, the data is not.
func sameJSON(t *testing.T, got []byte, want json.RawMessage) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("protojson output is not JSON: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("vector JSON: %v", err)
	}
	return reflect.DeepEqual(g, w)
}

func TestGoldenVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			raw, err := hex.DecodeString(v.Hex)
			if err != nil {
				t.Fatalf("hex: %v", err)
			}
			msg := newMessage(t, v.Type)
			if err := proto.Unmarshal(raw, msg); err != nil {
				t.Fatalf("decode: %v", err)
			}
			got, err := protojson.Marshal(msg)
			if err != nil {
				t.Fatalf("to JSON: %v", err)
			}
			if !sameJSON(t, got, v.JSON) {
				t.Errorf("JSON mismatch\n got: %s\nwant: %s", got, v.JSON)
			}
			again, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if hex.EncodeToString(again) != v.Hex {
				t.Errorf("re-encoded bytes differ\n got: %x\nwant: %s", again, v.Hex)
			}
			parsed := newMessage(t, v.Type)
			if err := protojson.Unmarshal(v.JSON, parsed); err != nil {
				t.Fatalf("from JSON: %v", err)
			}
			if !proto.Equal(parsed, msg) {
				t.Errorf("message parsed from JSON differs from decoded bytes")
			}
		})
	}
}
