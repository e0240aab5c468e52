//go:build tools

// Package h2spec pins the version of h2spec (github.com/summerwind/h2spec, the HTTP/2
// conformance checker) and of everything it needs, which ops/setup builds with `go build`
// into the cache folder and tests/integration/test_h2spec.c runs against fofal-api.
package h2spec

import _ "github.com/summerwind/h2spec/cmd/h2spec"
