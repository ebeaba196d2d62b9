package gitstore

import (
	"bytes"
	"compress/zlib"
	"io"
	"strings"
	"testing"
)

// Objects under storeBelow are stored blocks, larger ones compressed;
// both must be zlib streams any reader (git's among them) takes, from a
// deflater reused across sizes as the spool and writePack reuse it.
func TestDeflateStoresSmallObjects(t *testing.T) {
	d := newDeflater()
	for _, n := range []int{0, 1, 300, storeBelow - 1, storeBelow, 5000, 2} {
		data := []byte(strings.Repeat("{\"a\": 1}\n", n/9+1)[:n])
		comp := bytes.Clone(d.deflate(data))
		// The first block's header follows the 2-byte zlib header;
		// BTYPE 00 (bits 1-2) is a stored block.
		if stored := comp[2]&6 == 0; stored != (n < storeBelow) {
			t.Errorf("%d bytes: stored = %v, want %v", n, stored, n < storeBelow)
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
