module github.com/txfstream/txfstream/gen/go

go 1.23

require google.golang.org/protobuf v1.36.12
