module github.com/txfstream/txfstream/consumers/go

go 1.23

require (
	github.com/confluentinc/confluent-kafka-go/v2 v2.11.1
	github.com/txfstream/txfstream/gen/go v0.0.0
	google.golang.org/protobuf v1.36.12
)

// The generated bindings live in this repository; another team would require
// a tagged version instead (see README.md).
replace github.com/txfstream/txfstream/gen/go => ../../gen/go
