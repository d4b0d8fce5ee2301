package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSecurityConfig(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(ca, []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plain, err := securityConfig(env(nil))
	if err != nil || plain["security.protocol"] != "PLAINTEXT" || len(plain) != 1 {
		t.Fatalf("plain: %v %v", plain, err)
	}
	conf, err := securityConfig(env(map[string]string{
		"TXF_KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "TXF_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
		"TXF_KAFKA_SASL_USERNAME": "reader-a", "TXF_KAFKA_SASL_PASSWORD_FILE": pw, "TXF_KAFKA_SSL_CA_LOCATION": ca,
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := kafka.ConfigMap{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
		"sasl.username": "reader-a", "sasl.password": "from-file", "ssl.ca.location": ca}
	for k, v := range want {
		if conf[k] != v {
			t.Errorf("%s = %v, want %v", k, conf[k], v)
		}
	}
	for name, vars := range map[string]map[string]string{
		"no password":   {"TXF_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "TXF_KAFKA_SASL_MECHANISM": "PLAIN", "TXF_KAFKA_SASL_USERNAME": "u"},
		"both":          {"TXF_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "TXF_KAFKA_SASL_MECHANISM": "PLAIN", "TXF_KAFKA_SASL_USERNAME": "u", "TXF_KAFKA_SASL_PASSWORD": "hunter2", "TXF_KAFKA_SASL_PASSWORD_FILE": pw},
		"bad mechanism": {"TXF_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "TXF_KAFKA_SASL_MECHANISM": "MD5", "TXF_KAFKA_SASL_USERNAME": "u", "TXF_KAFKA_SASL_PASSWORD": "hunter2"},
		"no CA file":    {"TXF_KAFKA_SECURITY_PROTOCOL": "SSL", "TXF_KAFKA_SSL_CA_LOCATION": filepath.Join(dir, "nope")},
		"bad protocol":  {"TXF_KAFKA_SECURITY_PROTOCOL": "TLS"},
	} {
		_, err := securityConfig(env(vars))
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
}

func TestSecretFromEnv(t *testing.T) {
	dir := t.TempDir()
	login, empty := filepath.Join(dir, "login"), filepath.Join(dir, "empty")
	if err := os.WriteFile(login, []byte("reader:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const name = "TXF_REGISTRY_BASIC_AUTH"
	for _, c := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{}, ""},
		{map[string]string{name: "reader:env"}, "reader:env"},
		{map[string]string{name + "_FILE": login}, "reader:s3cret"},
	} {
		if got, err := secretFromEnv(env(c.vars), name); err != nil || got != c.want {
			t.Errorf("%v: %q %v, want %q", c.vars, got, err, c.want)
		}
	}
	for why, vars := range map[string]map[string]string{
		"both":    {name: "reader:s3cret", name + "_FILE": login},
		"missing": {name + "_FILE": filepath.Join(dir, "nope")},
		"empty":   {name + "_FILE": empty},
	} {
		_, err := secretFromEnv(env(vars), name)
		if err == nil || !strings.Contains(err.Error(), name+"_FILE") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v (want an error naming %s_FILE, without the secret)", why, err, name)
		}
	}
}

func TestRefusal(t *testing.T) {
	for code, want := range map[kafka.ErrorCode]int{
		kafka.ErrAuthentication:           exitConfig,
		kafka.ErrTopicAuthorizationFailed: exitNotAuthorized,
		kafka.ErrGroupAuthorizationFailed: exitNotAuthorized,
	} {
		got, why, ok := refusal(kafka.NewError(code, "x", false), "reader-a", "g")
		if !ok || got != want || !strings.Contains(why, "User:reader-a") {
			t.Errorf("%v: %d %q %v, want %d", code, got, why, ok, want)
		}
	}
	if _, _, ok := refusal(kafka.NewError(kafka.ErrAllBrokersDown, "x", false), "", "g"); ok {
		t.Error("all brokers down is not a refusal")
	}
	// handshakes cut short (a loaded or restarting broker) stay retries; a failed certificate check is 78
	for _, e := range []kafka.Error{
		kafka.NewError(kafka.ErrAuthentication, "SASL authentication error: SaslAuthenticateRequest failed: Local: Broker transport failure", false),
		kafka.NewError(kafka.ErrSsl, "SSL handshake failed: Disconnected: connecting to a PLAINTEXT listener?", false),
	} {
		if _, _, ok := refusal(e, "reader-a", "g"); ok {
			t.Errorf("%v is not a refusal", e)
		}
	}
	untrusted := kafka.NewError(kafka.ErrSsl, "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed", false)
	if got, _, ok := refusal(untrusted, "reader-a", "g"); !ok || got != exitConfig {
		t.Errorf("an untrusted certificate: %d %v, want 78", got, ok)
	}
}
