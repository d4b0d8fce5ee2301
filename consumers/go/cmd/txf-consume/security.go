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
	password, passwordFile := getenv("TXF_KAFKA_SASL_PASSWORD"), getenv("TXF_KAFKA_SASL_PASSWORD_FILE")
	if password != "" && passwordFile != "" {
		return nil, fmt.Errorf("TXF_KAFKA_SASL_PASSWORD and TXF_KAFKA_SASL_PASSWORD_FILE are both set: keep one")
	}
	if passwordFile != "" {
		raw, err := os.ReadFile(passwordFile)
		if err != nil {
			return nil, fmt.Errorf("TXF_KAFKA_SASL_PASSWORD_FILE=%s: cannot read it", passwordFile)
		}
		if password = strings.TrimRight(string(raw), "\r\n"); password == "" {
			return nil, fmt.Errorf("TXF_KAFKA_SASL_PASSWORD_FILE=%s: the file is empty", passwordFile)
		}
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
	switch e.Code() {
	case kafka.ErrAuthentication, kafka.ErrSsl:
		return exitConfig, fmt.Sprintf("Kafka rejected the login of %s: %v; fix TXF_KAFKA_SASL_USERNAME / "+
			"TXF_KAFKA_SASL_PASSWORD(_FILE) or TXF_KAFKA_SSL_CA_LOCATION (exit 78: a restart would repeat it)", who, e), true
	case kafka.ErrTopicAuthorizationFailed, kafka.ErrGroupAuthorizationFailed:
		return exitNotAuthorized, fmt.Sprintf("Kafka does not authorize %s (%v): a consumer may read the topics "+
			"its ACLs grant and use groups its ACLs allow (--group %s); exit 77", who, e, group), true
	}
	return 0, "", false
}
