package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Exit codes that tell a service manager a restart cannot help (systemd:
// RestartPreventExitStatus=77 78), as the producer and the other consumers use them.
const (
	exitNotAuthorized = 77 // the principal's ACLs do not allow the topic or the group
	exitConfig        = 78 // credentials rejected, or a wrong security setting
)

// securityConfig is the librdkafka part of a secured cluster, read from the
// producer's variables (one vocabulary in every language):
// TXF_KAFKA_SECURITY_PROTOCOL, TXF_KAFKA_SASL_MECHANISM, TXF_KAFKA_SASL_USERNAME,
// TXF_KAFKA_SASL_PASSWORD or TXF_KAFKA_SASL_PASSWORD_FILE, TXF_KAFKA_SSL_CA_LOCATION.
// Passwords come from the environment or a file, never a flag (flags show in ps).
// Errors name the variable, never a password.
func securityConfig(getenv func(string) string) (kafka.ConfigMap, error) {
	protocol := strings.ToUpper(getenv("TXF_KAFKA_SECURITY_PROTOCOL"))
	if protocol == "" {
		protocol = "PLAINTEXT"
	}
	switch protocol {
	case "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
	default:
		return nil, fmt.Errorf("TXF_KAFKA_SECURITY_PROTOCOL=%s: not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", protocol)
	}
	conf := kafka.ConfigMap{"security.protocol": protocol}
	if ca := getenv("TXF_KAFKA_SSL_CA_LOCATION"); ca != "" {
		if st, err := os.Stat(ca); err != nil || st.IsDir() {
			return nil, fmt.Errorf("TXF_KAFKA_SSL_CA_LOCATION=%s: no such file (PEM CA certificates)", ca)
		}
		conf["ssl.ca.location"] = ca
	}
	if !strings.HasPrefix(protocol, "SASL_") {
		return conf, nil
	}
	password, err := secretFromEnv(getenv, "TXF_KAFKA_SASL_PASSWORD")
	if err != nil {
		return nil, err
	}
	mechanism, user := strings.ToUpper(getenv("TXF_KAFKA_SASL_MECHANISM")), getenv("TXF_KAFKA_SASL_USERNAME")
	var missing []string
	for _, m := range []struct{ name, value string }{
		{"TXF_KAFKA_SASL_MECHANISM", mechanism},
		{"TXF_KAFKA_SASL_USERNAME", user},
		{"TXF_KAFKA_SASL_PASSWORD or TXF_KAFKA_SASL_PASSWORD_FILE", password},
	} {
		if m.value == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("TXF_KAFKA_SECURITY_PROTOCOL=%s needs %s", protocol, strings.Join(missing, ", "))
	}
	switch mechanism {
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return nil, fmt.Errorf("TXF_KAFKA_SASL_MECHANISM=%s: not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", mechanism)
	}
	conf["sasl.mechanism"] = mechanism
	conf["sasl.username"] = user
	conf["sasl.password"] = password
	return conf, nil
}

// refusal says whether a Kafka error means "this client is refused" and with
// which exit code and explanation: a rejected login (78) or an ACL that does
// not allow the topic or the group (77). ok is false for any other error.
func refusal(e kafka.Error, user, group string) (code int, why string, ok bool) {
	who := "this client"
	if user != "" {
		who = "User:" + user
	}
	text := e.String()
	// librdkafka reports a SASL handshake cut short ("SaslAuthenticateRequest failed: Local: Broker
	// transport failure") as ErrAuthentication, and a TLS handshake cut short (a broker restarting) as
	// ErrSsl: only a refusal by the broker, or a certificate that failed the check, is for good.
	rejected := e.Code() == kafka.ErrAuthentication &&
		!strings.Contains(text, "Local: Broker transport failure") && !strings.Contains(text, "Local: Timed out")
	untrusted := e.Code() == kafka.ErrSsl &&
		(strings.Contains(strings.ToLower(text), "certificate verify failed") ||
			strings.Contains(strings.ToLower(text), "could not be verified"))
	if rejected || untrusted {
		return exitConfig, fmt.Sprintf("Kafka rejected the login of %s: %v; fix TXF_KAFKA_SASL_USERNAME / "+
			"TXF_KAFKA_SASL_PASSWORD(_FILE) or TXF_KAFKA_SSL_CA_LOCATION (exit 78: a restart would repeat it)", who, e), true
	}
	switch e.Code() {
	case kafka.ErrTopicAuthorizationFailed, kafka.ErrGroupAuthorizationFailed:
		return exitNotAuthorized, fmt.Sprintf("Kafka does not authorize %s (%v): a consumer may read the topics "+
			"its ACLs grant and use groups its ACLs allow (--group %s); exit 77", who, e, group), true
	}
	return 0, "", false
}

// secretFromEnv is the secret in the variable `name` or in the file that
// `name`_FILE names (a systemd credential, a mounted secret: never in the
// process environment), "" when neither is set. Both set is an error; errors
// name the variable and the file, never the secret.
func secretFromEnv(getenv func(string) string, name string) (string, error) {
	value, path := getenv(name), getenv(name+"_FILE")
	if value != "" && path != "" {
		return "", fmt.Errorf("%s and %s_FILE are both set: keep one", name, name)
	}
	if path == "" {
		return value, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s_FILE=%s: cannot read it", name, path)
	}
	if value = strings.TrimRight(string(raw), "\r\n"); value == "" {
		return "", fmt.Errorf("%s_FILE=%s: the file is empty", name, path)
	}
	return value, nil
}
