// Package killseed gives the kill -9 tests of engine/sync and engine/gitstore
// one seed for their kill moments, logged so that a failure can be
// replayed with GITALOG_KILL_SEED.
package killseed

import (
	"os"
	"strconv"
	"testing"
)

// Env fixes the seed of the kill moments, to replay a failure or try
// others than the default's.
const Env = "GITALOG_KILL_SEED"

// Seed is the seed in Env, else def; logged either way, so a failure says
// how to replay its kill moments.
func Seed(t testing.TB, def int64) int64 {
	t.Helper()
	seed := def
	if v := os.Getenv(Env); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: not an integer", Env, v)
		}
		seed = n
	}
	t.Logf("kill moments from seed %d (replay with %s=%d)", seed, Env, seed)
	return seed
}
