package main

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/txfstream/txfstream/consumers/go/internal/topicmap"
)

func TestParseArgs(t *testing.T) {
	t.Setenv("TXF_KAFKA_BOOTSTRAP", "")
	t.Setenv("TXF_REGISTRY_URL", "")
	var stderr bytes.Buffer
	cfg, err := parseArgs([]string{
		"--bootstrap", "h:1", "--registry=http://r/", "--group", "g", "--topics", "a, b,,c",
		"--from-beginning", "--max-messages", "5", "--idle-exit-ms", "1500",
		"--type", "a=txf.v1.Tick", "--type", "b=txf.v1.BidAsk",
	}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	want := &config{bootstrap: "h:1", registry: "http://r/", group: "g", topics: []string{"a", "b", "c"},
		fromBeginning: true, maxMessages: 5, idleExit: 1500 * time.Millisecond,
		types: map[string]string{"a": "txf.v1.Tick", "b": "txf.v1.BidAsk"}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestParseArgsDefaults(t *testing.T) {
	t.Setenv("TXF_KAFKA_BOOTSTRAP", "k:9")
	t.Setenv("TXF_REGISTRY_URL", "")
	cfg, err := parseArgs([]string{"--topics", "txf-tick"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.bootstrap != "k:9" || cfg.registry != "" || cfg.group != "txf-consume-go" || cfg.fromBeginning ||
		cfg.maxMessages != 0 || cfg.idleExit != 0 {
		t.Errorf("defaults: %+v", cfg)
	}
	none, err := parseArgs(nil, &bytes.Buffer{}) // no --topics: the topic map's default topics
	if err != nil || strings.Join(none.topics, ",") != strings.Join(topicmap.DefaultTopics, ",") || len(none.topics) == 0 {
		t.Errorf("default topics: %v, %v", none, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--topics", ","},
		{"--topics", "a", "--type", "a"},
		{"--topics", "a", "--max-messages", "-1"},
		{"--topics", "a", "extra"},
		{"--topics", "a", "--nope"},
	} {
		if _, err := parseArgs(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if _, err := parseArgs([]string{"--help"}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

// Usage errors exit 2 before any Kafka client is created.
func TestRunUsageExit(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--topics", "unknown-topic"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "--type unknown-topic=") || out.Len() != 0 {
		t.Errorf("stderr %q stdout %q", errOut.String(), out.String())
	}
	errOut.Reset()
	if code := run([]string{"--topics", "x", "--type", "x=txf.v1.Nope"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
