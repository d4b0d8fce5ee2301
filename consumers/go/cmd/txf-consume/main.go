// Command txf-consume reads txf.v1 topics with a consumer group and prints
// one JSON line per record on stdout:
//
//	{"topic":"txf-tick","partition":0,"offset":12,"schemaId":2,"type":"txf.v1.Tick","message":{...}}
//
// "message" is the canonical proto3 JSON of the value. Logs go to stderr.
//
// Malformed values (not the Confluent protobuf framing, truncated, invalid
// protobuf, or a schema id that the registry says is another type) are
// reported on stderr with topic/partition/offset and skipped; their offsets
// are committed like any other, so a poison record never blocks the group.
// Exit status: 0 after --max-messages records (printed or skipped), after
// --idle-exit-ms without records, or on SIGINT/SIGTERM; 1 on a fatal Kafka
// or registry error or a failed write to stdout; 2 on a usage error; 77 when
// the principal's ACLs do not allow a topic or the group; 78 when Kafka or the
// registry rejects the credentials, or a security setting is wrong.
//
// A secured cluster and registry are reached with the producer's variables:
// TXF_KAFKA_SECURITY_PROTOCOL, TXF_KAFKA_SASL_MECHANISM, TXF_KAFKA_SASL_USERNAME,
// TXF_KAFKA_SASL_PASSWORD or TXF_KAFKA_SASL_PASSWORD_FILE, TXF_KAFKA_SSL_CA_LOCATION,
// TXF_REGISTRY_BASIC_AUTH (user:password) or TXF_REGISTRY_BASIC_AUTH_FILE,
// TXF_REGISTRY_SSL_CA_LOCATION (security.go); never from flags.
//
// Latency and throughput: each Poll hands over one record as soon as
// librdkafka has it. Lines go to a buffer that is written out as soon as the
// local queue is empty (Poll(0) finds nothing), so a caught-up reader gets
// every line at once and a reader catching up from a backlog gets 64 KiB
// writes instead of a write per line. Offsets are stored only after the
// buffer holding their lines was written (at least once).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/txfstream/txfstream/consumers/go/internal/registry"
	"github.com/txfstream/txfstream/consumers/go/internal/topicmap"
	"github.com/txfstream/txfstream/consumers/go/internal/wire"
)

const name = "txf-consume"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	bootstrap     string
	registry      string
	security      kafka.ConfigMap // TLS and SASL properties, from the environment (holds the password)
	group         string
	topics        []string
	fromBeginning bool
	maxMessages   int64
	idleExit      time.Duration
	types         map[string]string
}

// typeFlags collects repeatable --type topic=txf.v1.Tick.
type typeFlags map[string]string

func (t typeFlags) String() string { return "" }

func (t typeFlags) Set(s string) error {
	topic, msg, ok := strings.Cut(s, "=")
	if !ok || topic == "" || msg == "" {
		return fmt.Errorf("want topic=message.Type, got %q", s)
	}
	t[topic] = msg
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func parseArgs(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{types: map[string]string{}}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var topics string
	var idleMs int64
	fs.StringVar(&cfg.bootstrap, "bootstrap", envOr("TXF_KAFKA_BOOTSTRAP", "127.0.0.1:19092"), "Kafka bootstrap servers (env TXF_KAFKA_BOOTSTRAP)")
	fs.StringVar(&cfg.registry, "registry", os.Getenv("TXF_REGISTRY_URL"), "schema registry URL (Confluent API); when set, each schema id is checked once (env TXF_REGISTRY_URL)")
	fs.StringVar(&cfg.group, "group", "txf-consume-go", "consumer group id")
	fs.StringVar(&topics, "topics", strings.Join(topicmap.DefaultTopics, ","), "comma-separated topics")
	fs.BoolVar(&cfg.fromBeginning, "from-beginning", false, "start at the earliest offsets when the group has no committed offset")
	fs.Int64Var(&cfg.maxMessages, "max-messages", 0, "exit 0 after this many records (0 = no limit)")
	fs.Int64Var(&idleMs, "idle-exit-ms", 0, "exit 0 after this many ms without records (0 = never)")
	fs.Var(typeFlags(cfg.types), "type", "topic=message type, e.g. my-topic=txf.v1.Tick (repeatable); defaults: "+defaultTypes())
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [--topics a,b] [flags]\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, t := range strings.Split(topics, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.topics = append(cfg.topics, t)
		}
	}
	if len(cfg.topics) == 0 {
		return nil, errors.New("--topics names no topic")
	}
	if cfg.maxMessages < 0 || idleMs < 0 {
		return nil, errors.New("--max-messages and --idle-exit-ms must not be negative")
	}
	cfg.idleExit = time.Duration(idleMs) * time.Millisecond
	return cfg, nil
}

func defaultTypes() string {
	var s []string
	for t, m := range wire.DefaultTopicTypes {
		s = append(s, t+"="+m)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

type app struct {
	cfg      *config
	types    wire.TopicTypes
	verifier *registry.Verifier
	consumer *kafka.Consumer
	out      *bufio.Writer // stdout; written out whenever the local queue is empty
	stderr   io.Writer
	buf      []byte
	// records handled (line buffered, or skipped) whose offsets are stored after the next flush
	unstored []kafka.TopicPartition
}

// outBufferSize is the largest write while catching up (about 100 lines).
const outBufferSize = 64 << 10

// fetchQueueBackoffMs replaces librdkafka's 1000 ms wait before it fetches again for a partition
// whose local queue is full: with the default a reader faster than ~100,000 records a second idles
// most of every second while catching up; while caught up the queue never fills and it does nothing.
const fetchQueueBackoffMs = 20

func (a *app) logf(format string, args ...any) {
	fmt.Fprintf(a.stderr, name+": "+format+"\n", args...)
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2
	}
	a := &app{cfg: cfg, out: bufio.NewWriterSize(stdout, outBufferSize), stderr: stderr}
	if a.types, err = wire.NewTopicTypes(cfg.types); err != nil {
		a.logf("%v", err)
		return 2
	}
	for _, t := range cfg.topics {
		if _, ok := a.types.For(t); !ok {
			a.logf("no message type for topic %s: add --type %s=txf.v1.Tick (or txf.v1.BidAsk)", t, t)
			return 2
		}
	}
	if cfg.security, err = securityConfig(os.Getenv); err != nil {
		a.logf("%v", err)
		return exitConfig
	}
	if cfg.registry != "" {
		basicAuth, err := secretFromEnv(os.Getenv, "TXF_REGISTRY_BASIC_AUTH")
		if err == nil {
			a.verifier, err = registry.New(cfg.registry, registry.Auth{
				BasicAuth: basicAuth, CAFile: os.Getenv("TXF_REGISTRY_SSL_CA_LOCATION")})
		}
		if err != nil {
			a.logf("%v", err)
			return exitConfig
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	offsetReset := "latest"
	if cfg.fromBeginning {
		offsetReset = "earliest"
	}
	conf := kafka.ConfigMap{
		"bootstrap.servers": cfg.bootstrap,
		"group.id":          cfg.group,
		"client.id":         name,
		"auto.offset.reset": offsetReset,
		// At least once: an offset is stored only after its line is written
		// (or the record is reported as skipped); stored offsets are
		// committed every second and on close.
		"enable.auto.commit":       true,
		"auto.commit.interval.ms":  1000,
		"enable.auto.offset.store": false,
		"fetch.queue.backoff.ms":   fetchQueueBackoffMs,
	}
	for k, v := range cfg.security {
		conf[k] = v
	}
	a.consumer, err = kafka.NewConsumer(&conf)
	if err != nil {
		a.logf("kafka: %v", err)
		return 1
	}

	code := a.loop(ctx)
	if err := a.flush(); err != nil && code == 0 {
		a.logf("%v", err)
		code = 1
	}
	stop() // a second signal while closing ends the process
	if _, err := a.consumer.Commit(); err != nil {
		var kerr kafka.Error
		if !errors.As(err, &kerr) || kerr.Code() != kafka.ErrNoOffset {
			a.logf("final commit: %v", err)
		}
	}
	if err := a.consumer.Close(); err != nil {
		a.logf("close: %v", err)
	}
	return code
}

func (a *app) loop(ctx context.Context) int {
	lastActivity := time.Now()
	err := a.consumer.SubscribeTopics(a.cfg.topics, func(_ *kafka.Consumer, ev kafka.Event) error {
		// Joining the group is activity: the idle clock starts once partitions are assigned.
		lastActivity = time.Now()
		a.logf("rebalance: %v", ev)
		return nil // the library then assigns/unassigns itself
	})
	if err != nil {
		a.logf("subscribe: %v", err)
		return 1
	}
	var consumed int64
	for {
		if ctx.Err() != nil {
			a.logf("signal received, stopping after %d records", consumed)
			return 0
		}
		if a.cfg.maxMessages > 0 && consumed >= a.cfg.maxMessages {
			a.logf("read %d records (--max-messages), stopping", consumed)
			return 0
		}
		waitMs := 0 // lines waiting in the buffer: only take what has arrived already
		if len(a.unstored) == 0 {
			wait := 100 * time.Millisecond
			if a.cfg.idleExit > 0 {
				left := a.cfg.idleExit - time.Since(lastActivity)
				if left <= 0 {
					a.logf("no records for %v (--idle-exit-ms), stopping after %d records", a.cfg.idleExit, consumed)
					return 0
				}
				wait = min(wait, left)
			}
			waitMs = max(1, int(wait.Milliseconds()))
		}
		ev := a.consumer.Poll(waitMs)
		if len(a.unstored) > 0 && (ev == nil || len(a.unstored) >= maxUnstored) {
			if err := a.flush(); err != nil { // caught up: out with the lines now
				a.logf("%v", err)
				return 1
			}
		}
		switch e := ev.(type) {
		case *kafka.Message:
			lastActivity = time.Now()
			consumed++
			if err := a.handle(ctx, e); err != nil {
				if ctx.Err() != nil {
					continue // interrupted while asking the registry
				}
				a.logf("%v", err)
				if errors.Is(err, registry.ErrRefused) {
					return exitConfig
				}
				return 1
			}
		case kafka.Error:
			user, _ := a.cfg.security["sasl.username"].(string)
			if code, why, refused := refusal(e, user, a.cfg.group); refused {
				a.logf("fatal: %s", why)
				return code
			}
			a.logf("kafka: %v", e)
			if e.IsFatal() {
				return 1
			}
		}
	}
}

// handle prints one record or reports it as skipped. A returned error is fatal.
func (a *app) handle(ctx context.Context, m *kafka.Message) error {
	tp := m.TopicPartition
	topic := *tp.Topic
	if tp.Error != nil {
		a.logf("skip topic=%s partition=%d offset=%v: %v", topic, tp.Partition, tp.Offset, tp.Error)
		return nil
	}
	mt, ok := a.types.For(topic)
	if !ok { // not subscribed: cannot happen, kept for safety
		return fmt.Errorf("record from unexpected topic %s", topic)
	}
	typeName := string(mt.Descriptor().FullName())
	line, err := a.render(ctx, m, mt, typeName)
	if err != nil {
		if !errors.Is(err, wire.ErrMalformed) && !errors.Is(err, registry.ErrMismatch) {
			return err
		}
		a.logf("skip topic=%s partition=%d offset=%d: %v", topic, tp.Partition, tp.Offset, err)
	} else if _, err := a.out.Write(line); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	a.unstored = append(a.unstored, tp)
	return nil
}

// maxUnstored bounds the records handled but not yet flushed and stored while catching up.
const maxUnstored = 1000

// flush writes the buffered lines to stdout, then stores the offsets of every record handled so far.
func (a *app) flush() error {
	if err := a.out.Flush(); err != nil {
		return fmt.Errorf("stdout: %w", err)
	}
	if len(a.unstored) == 0 {
		return nil
	}
	var next []kafka.TopicPartition // the offset after the last handled record, per partition
	for _, tp := range a.unstored {
		tp.Offset++
		i := 0
		for i < len(next) && (*next[i].Topic != *tp.Topic || next[i].Partition != tp.Partition) {
			i++
		}
		if i == len(next) {
			next = append(next, tp)
		} else if tp.Offset > next[i].Offset {
			next[i] = tp
		}
	}
	a.unstored = a.unstored[:0]
	if _, err := a.consumer.StoreOffsets(next); err != nil {
		a.logf("store offsets: %v", err)
	}
	return nil
}

func (a *app) render(ctx context.Context, m *kafka.Message, mt protoreflect.MessageType, typeName string) ([]byte, error) {
	frame, err := wire.ParseFrame(m.Value)
	if err != nil {
		return nil, err
	}
	// The schema id first: a record of another type is reported as such,
	// not as whatever its bytes happen to do to the expected type.
	if a.verifier != nil {
		if err := a.verifier.Verify(ctx, frame.SchemaID, frame.MessageIndexes, typeName); err != nil {
			return nil, err
		}
	}
	msg, err := wire.Unmarshal(frame.Payload, mt)
	if err != nil {
		return nil, err
	}
	js, err := wire.CanonicalJSON(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", wire.ErrMalformed, err)
	}
	a.buf, err = wire.AppendLine(a.buf[:0], wire.Line{
		Topic:     *m.TopicPartition.Topic,
		Partition: m.TopicPartition.Partition,
		Offset:    int64(m.TopicPartition.Offset),
		SchemaID:  frame.SchemaID,
		Type:      typeName,
		Message:   js,
	})
	return a.buf, err
}
