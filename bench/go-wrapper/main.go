// A reference point for the benchmark, not part of Bulwark: the shape of a Go OCI runtime
// wrapper such as nvidia-container-runtime. On `create` it decodes the bundle's config.json into
// the runtime-spec's Go types, edits it (one environment variable), encodes it back through a
// temporary file and a rename, then execs the low-level runtime; every other call execs the
// runtime directly. It has no policy at all: what it costs is the floor for any Go wrapper that
// rewrites the config (a Go process start, a JSON decode and encode, a write).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	runtime := os.Getenv("BENCH_GO_WRAPPER_RUNTIME")
	if runtime == "" {
		fail("BENCH_GO_WRAPPER_RUNTIME is not set")
	}
	args := os.Args[1:]
	if bundle, create := createBundle(args); create {
		if err := edit(filepath.Join(bundle, "config.json")); err != nil {
			fail(err.Error())
		}
	}
	err := syscall.Exec(runtime, append([]string{runtime}, args...), os.Environ())
	fail(fmt.Sprintf("exec %s: %v", runtime, err))
}

// createBundle reports whether the call is a `create`, and its bundle (--bundle/-b, else the
// current directory). The benchmark's argv is known, so this reads only what it needs.
func createBundle(args []string) (string, bool) {
	create, bundle := false, "."
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "create":
			create = true
		case (a == "--bundle" || a == "-b") && i+1 < len(args):
			bundle = args[i+1]
			i++
		case strings.HasPrefix(a, "--bundle="):
			bundle = strings.TrimPrefix(a, "--bundle=")
		}
	}
	return bundle, create
}

func edit(path string) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var spec specs.Spec
	if err := json.Unmarshal(text, &spec); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if spec.Process != nil {
		spec.Process.Env = append(spec.Process.Env, "BENCH_GO_WRAPPER=1")
	}
	out, err := json.Marshal(&spec)
	if err != nil {
		return err
	}
	tmp := path + ".go-wrapper.tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "go-wrapper:", msg)
	os.Exit(1)
}
