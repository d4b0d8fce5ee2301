package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	txfv1 "github.com/txfstream/txfstream/gen/go/txf/v1"
)

func b64(t *testing.T, fd *descriptorpb.FileDescriptorProto) string {
	t.Helper()
	raw, err := proto.Marshal(fd)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// fakeRegistry answers like Apicurio 3.3.3 (id 2, 3) and like Confluent (id 5).
func fakeRegistry(t *testing.T, requests *int) *httptest.Server {
	tick := b64(t, protodesc.ToFileDescriptorProto(txfv1.File_txf_v1_tick_proto))
	bidask := b64(t, protodesc.ToFileDescriptorProto(txfv1.File_txf_v1_bidask_proto))
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*requests++
		serialized := r.URL.Query().Get("format") == "serialized"
		var body map[string]any
		switch r.URL.Path {
		case "/api/schemas/ids/2":
			body = map[string]any{"schema": tick, "schemaType": "PROTOBUF",
				"references": []any{map[string]any{"name": "txf/v1/common.proto", "subject": "txf/v1/common.proto", "version": 1}}}
		case "/api/schemas/ids/3":
			body = map[string]any{"schema": bidask, "schemaType": "PROTOBUF"}
		case "/api/schemas/ids/4":
			body = map[string]any{"schema": `{"type":"string"}`}
			body["schemaType"] = "AVRO"
		case "/api/schemas/ids/5":
			if serialized {
				body = map[string]any{"schema": tick, "schemaType": "PROTOBUF"}
			} else {
				body = map[string]any{"schema": "syntax = \"proto3\";\npackage txf.v1;\nmessage Tick {}\n", "schemaType": "PROTOBUF"}
			}
		case "/api/schemas/ids/6":
			http.Error(w, `{"error_code":50001,"message":"boom"}`, http.StatusInternalServerError)
			return
		default:
			http.Error(w, `{"error_code":40403,"message":"Schema not found"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
}

func TestVerify(t *testing.T) {
	var n int
	srv := fakeRegistry(t, &n)
	defer srv.Close()
	v, err := New(srv.URL+"/api/", Auth{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	for i := 0; i < 3; i++ {
		if err := v.Verify(ctx, 2, []int{0}, "txf.v1.Tick"); err != nil {
			t.Fatalf("tick: %v", err)
		}
	}
	if n != 1 {
		t.Errorf("%d requests for one id, want 1", n)
	}
	if err := v.Verify(ctx, 3, []int{0}, "txf.v1.BidAsk"); err != nil {
		t.Fatalf("bidask: %v", err)
	}
	if err := v.Verify(ctx, 5, []int{0}, "txf.v1.Tick"); err != nil {
		t.Fatalf("Confluent-style .proto text then serialized: %v", err)
	}

	for name, c := range map[string]struct {
		id      uint32
		indexes []int
		want    string
	}{
		"other type":         {3, []int{0}, "txf.v1.Tick"},
		"index out of range": {2, []int{1}, "txf.v1.Tick"},
		"nested missing":     {2, []int{0, 0}, "txf.v1.Tick"},
		"avro":               {4, []int{0}, "txf.v1.Tick"},
		"unknown id":         {99, []int{0}, "txf.v1.Tick"},
	} {
		if err := v.Verify(ctx, c.id, c.indexes, c.want); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: err = %v, want ErrMismatch", name, err)
		}
	}
	before := n
	_ = v.Verify(ctx, 99, []int{0}, "txf.v1.Tick")
	if n != before {
		t.Errorf("unknown id asked again")
	}

	err = v.Verify(ctx, 6, []int{0}, "txf.v1.Tick")
	if err == nil || errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("registry failure: err = %v, want a non-mismatch error", err)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	v, err := New(url, Auth{})
	if err != nil {
		t.Fatal(err)
	}
	err = v.Verify(context.Background(), 2, []int{0}, "txf.v1.Tick")
	if err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("err = %v, want a connection error", err)
	}
}

func TestMessageName(t *testing.T) {
	fd := &descriptorpb.FileDescriptorProto{
		Package: proto.String("a.b"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("X")},
			{Name: proto.String("Y"), NestedType: []*descriptorpb.DescriptorProto{{Name: proto.String("P")}, {Name: proto.String("Q")}}},
		},
	}
	for want, idx := range map[string][]int{"a.b.X": {0}, "a.b.Y": {1}, "a.b.Y.Q": {1, 1}} {
		if got, err := MessageName(fd, idx); err != nil || got != want {
			t.Errorf("%v -> %q, %v; want %q", idx, got, err, want)
		}
	}
	if _, err := MessageName(fd, []int{2}); err == nil {
		t.Error("index 2 resolved")
	}
}

func TestBasicAuth(t *testing.T) {
	var n int
	inner := fakeRegistry(t, &n)
	defer inner.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "reader" || p != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		resp, err := http.Get(inner.URL + r.URL.Path)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer srv.Close()
	good, err := New(srv.URL+"/api", Auth{BasicAuth: "reader:s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := good.Verify(context.Background(), 2, []int{0}, "txf.v1.Tick"); err != nil {
		t.Errorf("with the right credentials: %v", err)
	}
	bad, err := New(srv.URL+"/api", Auth{BasicAuth: "reader:wrong"})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Verify(context.Background(), 2, []int{0}, "txf.v1.Tick")
	if !errors.Is(err, ErrRefused) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: err = %v, want ErrRefused without the password", err)
	}
	if _, err := New(srv.URL, Auth{BasicAuth: "no-colon"}); err == nil || strings.Contains(err.Error(), "no-colon") {
		t.Errorf("basic auth without ':': err = %v, want an error that does not echo it", err)
	}
	if _, err := New(srv.URL, Auth{CAFile: "/nonexistent/ca.pem"}); err == nil {
		t.Error("missing CA file: no error")
	}
}
