package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	txfv1 "github.com/txfstream/txfstream/gen/go/txf/v1"
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
		path = "../../../../tests/vectors/txf_v1.json"
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

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameJSON(t *testing.T, got, want []byte) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("not JSON: %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// Every golden vector, framed as ProtobufSerializer frames it, decodes to its canonical JSON.
func TestGoldenVectorsFramed(t *testing.T) {
	types, err := NewTopicTypes(nil)
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]string{} // a topic of each message type, from the topic map
	for topic, msg := range DefaultTopicTypes {
		byType[msg] = topic
	}
	for _, v := range loadVectors(t) {
		for _, idx := range [][]int{{0}, {2, 1}} {
			t.Run(fmt.Sprintf("%s/indexes%v", v.Name, idx), func(t *testing.T) {
				value := append(AppendHeader(nil, 0x01020304, idx), mustHex(t, v.Hex)...)
				mt, ok := types.For(byType[v.Type])
				if !ok {
					t.Fatalf("no type for %s", v.Type)
				}
				f, msg, err := Decode(value, mt)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if f.SchemaID != 0x01020304 || !reflect.DeepEqual(f.MessageIndexes, idx) {
					t.Errorf("frame = %d %v", f.SchemaID, f.MessageIndexes)
				}
				got, err := CanonicalJSON(msg)
				if err != nil {
					t.Fatal(err)
				}
				if !sameJSON(t, got, v.JSON) {
					t.Errorf("JSON mismatch\n got: %s\nwant: %s", got, v.JSON)
				}
				var compact bytes.Buffer
				if err := json.Compact(&compact, got); err != nil || !bytes.Equal(compact.Bytes(), got) {
					t.Errorf("JSON not compact: %q", got)
				}
			})
		}
	}
}

// Bytes exactly as confluent-kafka 2.x ProtobufSerializer wrote them (schema id 2, Tick{code:"TXFK6"}).
func TestConfluentSerializerBytes(t *testing.T) {
	value := mustHex(t, "00 00000002 00 0a05 5458464b36")
	f, msg, err := Decode(value, (&txfv1.Tick{}).ProtoReflect().Type())
	if err != nil {
		t.Fatal(err)
	}
	if f.SchemaID != 2 || !reflect.DeepEqual(f.MessageIndexes, []int{0}) {
		t.Errorf("frame = %+v", f)
	}
	if !proto.Equal(msg, &txfv1.Tick{Code: "TXFK6"}) {
		t.Errorf("message = %v", msg)
	}
	if got := AppendHeader(nil, 2, []int{0}); !bytes.Equal(got, value[:6]) {
		t.Errorf("header = %x", got)
	}
	// [1, 2]: count 2 -> 0x04, 1 -> 0x02, 2 -> 0x04 (zig-zag), as Confluent writes it.
	if got := AppendHeader(nil, 9, []int{1, 2}); !bytes.Equal(got, mustHex(t, "00 00000009 04 02 04")) {
		t.Errorf("header [1,2] = %x", got)
	}
}

func TestMalformed(t *testing.T) {
	tick := (&txfv1.Tick{}).ProtoReflect().Type()
	cases := map[string]string{
		"empty":                    "",
		"bad magic (JSON)":         "7b22636f6465223a317d",
		"magic byte 1 (GUID form)": "01 00000002 00",
		"only magic":               "00",
		"truncated id":             "00 000000",
		"no index array":           "00 00000002",
		"truncated count varint":   "00 00000002 80",
		"negative count":           "00 00000002 01",
		"count beyond data":        "00 00000002 7e 00",
		"truncated index":          "00 00000002 02 80",
		"negative index":           "00 00000002 02 03",
		"overlong varint":          "00 00000002 ffffffffffffffffffff01",
		"truncated payload":        "00 00000002 00 0a05 5458",
		"invalid wire type":        "00 00000002 00 0f",
		"invalid utf-8 string":     "00 00000002 00 0a02 c328",
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			_, msg, err := Decode(mustHex(t, h), tick)
			if err == nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, msg = %v; want ErrMalformed", err, msg)
			}
		})
	}
}

func TestTopicTypes(t *testing.T) {
	types, err := NewTopicTypes(map[string]string{"my-topic": "txf.v1.BidAsk", "txf-tick": "txf.v1.BidAsk"})
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]string{
		"txf-tick": "txf.v1.BidAsk", "txfr2-tick": "txf.v1.Tick", "txf-bidask": "txf.v1.BidAsk", "my-topic": "txf.v1.BidAsk",
		"txf-gaps": "txf.v1.Gap", "prod.txf-bidask": "txf.v1.BidAsk", "leg-a.txfr2-tick": "txf.v1.Tick", "x_txf-gaps": "txf.v1.Gap",
	} {
		mt, ok := types.For(topic)
		if !ok || string(mt.Descriptor().FullName()) != want {
			t.Errorf("%s -> %v, want %s", topic, mt, want)
		}
	}
	for _, topic := range []string{"other", "mytxf-tick", "txf-tick.x", "-"} {
		if _, ok := types.For(topic); ok {
			t.Errorf("%s has a type", topic)
		}
	}
	if _, err := NewTopicTypes(map[string]string{"x": "txf.v1.Nope"}); err == nil ||
		!strings.Contains(err.Error(), "txf.v1.BidAsk, txf.v1.Gap, txf.v1.Tick") {
		t.Errorf("unknown type: err = %v", err)
	}
}

func TestAppendLine(t *testing.T) {
	msg, err := CanonicalJSON(&txfv1.Tick{Code: "A<B", Close: 7, TickType: txfv1.TickType_TICK_TYPE_SELL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendLine(nil, Line{Topic: "txf-tick", Partition: 0, Offset: 12, SchemaID: 2, Type: "txf.v1.Tick", Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"topic":"txf-tick","partition":0,"offset":12,"schemaId":2,"type":"txf.v1.Tick",` +
		`"message":{"code":"A<B","close":"7","tickType":"TICK_TYPE_SELL"}}` + "\n"
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// FuzzParseFrame: no input makes the decoder panic (`go test -fuzz=FuzzParseFrame ./internal/wire`).
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{"", "00", "0000000002", "000000000200", "00000000020402040a00", "0000000002ff"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	tick := (&txfv1.Tick{}).ProtoReflect().Type()
	f.Fuzz(func(t *testing.T, value []byte) {
		fr, _, err := Decode(value, tick)
		if err == nil && (len(fr.MessageIndexes) == 0 || len(value) < HeaderMinLen) {
			t.Errorf("accepted %x as %+v", value, fr)
		}
	})
}

// The hand-built line equals what encoding/json's Encoder (no HTML escaping) writes, for odd names too.
func TestAppendLineEqualsEncodingJSON(t *testing.T) {
	msg := json.RawMessage(`{"code":"A<B","close":"7"}`)
	for _, name := range []string{"txf-tick", "prod.txf_bidask-1", "a\"b\\c", "tab\there", "ü<&>\u2028"} {
		l := Line{Topic: name, Partition: 3, Offset: 1 << 40, SchemaID: 1<<32 - 1, Type: name, Message: msg}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(l); err != nil {
			t.Fatal(err)
		}
		got, err := AppendLine([]byte("x"), l)
		if err != nil || string(got) != "x"+want.String() {
			t.Errorf("%q: got %s (%v)\nwant %s", name, got, err, want.String())
		}
	}
}
