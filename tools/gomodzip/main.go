// Command gomodzip publishes one version of a Go module into a GOPROXY directory (the layout
// `GOPROXY=file:///path` serves), so another team can `go get module@vX.Y.Z` from a release's
// dist/goproxy without a VCS host. The zip is made by golang.org/x/mod/zip, the same code the go
// command uses, so its checksum is what `go mod download` computes from a tag of the repository.
//
// Usage: gomodzip -dir gen/go -module github.com/txfstream/txfstream/gen/go -version v1.1.0 \
//
//	-time 2026-11-27T10:00:00Z -out dist/goproxy
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

func main() {
	dir := flag.String("dir", "", "module root (holds go.mod)")
	path := flag.String("module", "", "module path, as in go.mod")
	version := flag.String("version", "", "semantic version with the v prefix, e.g. v1.1.0")
	stamp := flag.String("time", "", "RFC 3339 time of the release commit (the .info Time)")
	out := flag.String("out", "", "GOPROXY directory to write into")
	flag.Parse()
	if err := run(*dir, *path, *version, *stamp, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gomodzip:", err)
		os.Exit(1)
	}
}

func run(dir, path, version, stamp, out string) error {
	if dir == "" || path == "" || version == "" || stamp == "" || out == "" {
		return fmt.Errorf("-dir, -module, -version, -time and -out are all required")
	}
	when, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		return fmt.Errorf("-time %q: %w", stamp, err)
	}
	mv := module.Version{Path: path, Version: version}
	if err := module.Check(path, version); err != nil {
		return err
	}
	escaped, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	base := filepath.Join(out, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	zf, err := os.Create(filepath.Join(base, version+".zip"))
	if err != nil {
		return err
	}
	if err := modzip.CreateFromDir(zf, mv, dir); err != nil {
		zf.Close()
		return fmt.Errorf("zip %s: %w", dir, err)
	}
	if err := zf.Close(); err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(base, version+".mod"), gomod, 0o644); err != nil {
		return err
	}
	info, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, when.UTC()})
	if err := os.WriteFile(filepath.Join(base, version+".info"), info, 0o644); err != nil {
		return err
	}
	return appendToList(filepath.Join(base, "list"), version)
}

// appendToList adds version to the proxy's list of versions (one per line, sorted, no duplicates).
func appendToList(listPath, version string) error {
	seen := map[string]bool{version: true}
	if old, err := os.ReadFile(listPath); err == nil {
		for _, v := range strings.Fields(string(old)) {
			seen[v] = true
		}
	}
	versions := make([]string, 0, len(seen))
	for v := range seen {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	return os.WriteFile(listPath, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}
