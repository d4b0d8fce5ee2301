// Package registry checks a record's schema id against the schema registry:
// the message that the id and the message indexes name must be the type the
// consumer decodes the topic with. One request per schema id, cached.
//
// It reads GET /schemas/ids/{id} in the default form. Apicurio answers with
// the schema as registered by confluent-kafka (base64 FileDescriptorProto);
// Confluent's registry answers with .proto text there, and with the base64
// form under ?format=serialized, which is then asked for. Apicurio 3.3.3
// answers ?format=serialized with HTTP 500 for base64-stored schemas, hence
// this order (stack/README.md).
//
// A registry behind basic auth and/or TLS with a private CA is reached with
// Auth (the consumer fills it from TXF_REGISTRY_BASIC_AUTH and
// TXF_REGISTRY_SSL_CA_LOCATION, the producer's names).
package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// ErrMismatch is wrapped when a record's schema cannot be the expected type
// (unknown id, other schema type, other message): a property of the record.
// Any other error means the registry could not be asked.
var ErrMismatch = errors.New("schema mismatch")

// ErrRefused is wrapped when the registry refuses our credentials (HTTP 401 or
// 403) or its certificate is not signed by a CA we trust: settings to fix, not
// something a retry or a restart can change.
var ErrRefused = errors.New("registry refused the client")

// Auth is how to reach a registry that is not plain HTTP without a login.
type Auth struct {
	BasicAuth string // "user:password", sent as HTTP basic auth; "" for none
	CAFile    string // PEM file of the CAs to trust for an https URL; "" for the system's
}

// Verifier checks schema ids; not safe for concurrent use.
type Verifier struct {
	base   string
	user   string
	pass   string
	client *http.Client
	files  map[uint32]*descriptorpb.FileDescriptorProto
	bad    map[uint32]error // ids the registry does not know or that are not protobuf
}

// New returns a Verifier for the Confluent-compatible API at baseURL. The error
// (a CA file that cannot be read, a basic-auth value without ':') names the
// setting, never the password.
func New(baseURL string, auth Auth) (*Verifier, error) {
	v := &Verifier{
		base:   strings.TrimRight(baseURL, "/"),
		client: &http.Client{Timeout: 10 * time.Second},
		files:  map[uint32]*descriptorpb.FileDescriptorProto{},
		bad:    map[uint32]error{},
	}
	if auth.BasicAuth != "" {
		var ok bool
		if v.user, v.pass, ok = strings.Cut(auth.BasicAuth, ":"); !ok {
			return nil, errors.New("TXF_REGISTRY_BASIC_AUTH: want user:password")
		}
	}
	if auth.CAFile != "" {
		pem, err := os.ReadFile(auth.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TXF_REGISTRY_SSL_CA_LOCATION=%s: cannot read it", auth.CAFile)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TXF_REGISTRY_SSL_CA_LOCATION=%s: no PEM certificate in it", auth.CAFile)
		}
		v.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return v, nil
}

// Verify returns nil when schema id + message indexes name the message want
// (a full name like "txf.v1.Tick").
func (v *Verifier) Verify(ctx context.Context, id uint32, indexes []int, want string) error {
	if err := v.bad[id]; err != nil {
		return err
	}
	fd := v.files[id]
	if fd == nil {
		var err error
		fd, err = v.fetch(ctx, id)
		if errors.Is(err, ErrMismatch) {
			v.bad[id] = err
		}
		if err != nil {
			return err
		}
		v.files[id] = fd
	}
	got, err := MessageName(fd, indexes)
	if err != nil {
		return fmt.Errorf("%w: schema id %d: %v", ErrMismatch, id, err)
	}
	if got != want {
		return fmt.Errorf("%w: schema id %d %v is %s, not %s", ErrMismatch, id, indexes, got, want)
	}
	return nil
}

// MessageName resolves a message-index path inside a file descriptor.
func MessageName(fd *descriptorpb.FileDescriptorProto, indexes []int) (string, error) {
	name := fd.GetPackage()
	msgs := fd.GetMessageType()
	for _, i := range indexes {
		if i < 0 || i >= len(msgs) {
			return "", fmt.Errorf("message index path %v not in %s", indexes, fd.GetName())
		}
		if name != "" {
			name += "."
		}
		name += msgs[i].GetName()
		msgs = msgs[i].GetNestedType()
	}
	return name, nil
}

type schemaResponse struct {
	Schema     string `json:"schema"`
	SchemaType string `json:"schemaType"`
}

func (v *Verifier) fetch(ctx context.Context, id uint32) (*descriptorpb.FileDescriptorProto, error) {
	var last string
	for _, query := range []string{"", "?format=serialized"} {
		r, err := v.get(ctx, fmt.Sprintf("%s/schemas/ids/%d%s", v.base, id, query))
		if err != nil {
			return nil, err
		}
		if r.SchemaType != "" && r.SchemaType != "PROTOBUF" {
			return nil, fmt.Errorf("%w: schema id %d is %s, not PROTOBUF", ErrMismatch, id, r.SchemaType)
		}
		if fd, ok := parseSerialized(r.Schema); ok {
			return fd, nil
		}
		last = r.Schema
	}
	if len(last) > 60 {
		last = last[:60] + "..."
	}
	return nil, fmt.Errorf("registry: schema id %d is neither a base64 FileDescriptorProto nor available as one: %q", id, last)
}

func parseSerialized(s string) (*descriptorpb.FileDescriptorProto, bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, false
	}
	fd := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(raw, fd); err != nil || len(fd.GetMessageType()) == 0 {
		return nil, false
	}
	return fd, true
}

func (v *Verifier) get(ctx context.Context, url string) (*schemaResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	if v.user != "" {
		req.SetBasicAuth(v.user, v.pass)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		var unknownCA x509.UnknownAuthorityError
		var badHost x509.HostnameError
		if errors.As(err, &unknownCA) || errors.As(err, &badHost) {
			return nil, fmt.Errorf("%w: %v; fix TXF_REGISTRY_SSL_CA_LOCATION", ErrRefused, err)
		}
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("registry: GET %s: %w", url, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%w: GET %s: HTTP %d; fix TXF_REGISTRY_BASIC_AUTH (user:password) or TXF_REGISTRY_BASIC_AUTH_FILE", ErrRefused, url, resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: GET %s: 404 %s", ErrMismatch, url, strings.TrimSpace(string(body)))
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("registry: GET %s: HTTP %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var r schemaResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("registry: GET %s: %w", url, err)
	}
	return &r, nil
}
