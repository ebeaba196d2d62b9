package gitstore

import (
	"bytes"
	"compress/zlib"
	"io"
	"strings"
	"testing"

	kzlib "github.com/klauspost/compress/zlib"
)

// Small objects are stored blocks, larger ones compressed; both must be
// zlib streams any reader (git's among them) takes.
func TestDeflateTo(t *testing.T) {
	zw, _ := kzlib.NewWriterLevel(nil, kzlib.BestSpeed)
	for _, n := range []int{0, 1, 300, storeBelow - 1, storeBelow, 5000} {
		data := []byte(strings.Repeat("{\"a\": 1}\n", n/9+1)[:n])
		var buf bytes.Buffer
		buf.WriteString("prefix")
		deflateTo(&buf, zw, data)
		comp := buf.Bytes()[len("prefix"):]
		if stored := comp[2]&6 == 0; stored != (n < storeBelow) {
			t.Errorf("%d bytes: stored = %v", n, stored)
		}
		zr, err := zlib.NewReader(bytes.NewReader(comp))
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back %d bytes, %v", n, len(got), err)
		}
	}
}
