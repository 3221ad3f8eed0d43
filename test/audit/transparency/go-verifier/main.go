// Command go-verifier checks our audit checkpoints and proofs with Go's golang.org/x/mod/sumdb/note and
// sumdb/tlog, an implementation no one on this project wrote. Built GOPATH-style (GO111MODULE=off) against
// Debian's golang-golang-x-mod-dev by test/audit/transparency/go-verifier.test.ts.
//
// Usage: go-verifier -vkey VKEY [-old FILE -new FILE -consistency FILE] [-proof FILE]
//
//	go-verifier -vkey VKEY -url BASE [-witness WKEY] [-old FILE] [-leaf-index I -leaf-data HEX]
//
// The second form is an outsider's: it reads only public endpoints over HTTP (BASE/audit/checkpoint and the C2SP
// tlog-tiles hash tiles BASE/audit/tile/...) and proves with tlog.TileHashReader, ProveTree/CheckTree and
// ProveRecord/CheckRecord that the served checkpoint extends the older one (-old) and holds the leaf (-leaf-*);
// -witness requires a valid C2SP tlog-cosignature from that witness on the served checkpoint.
// Prints one "ok" line per check; exits 1 with "FAIL: reason" on the first that does not hold.
package main

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type tree struct {
	origin string
	size   int64
	hash   tlog.Hash
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// openCheckpoint verifies the signed note and parses the C2SP checkpoint body itself:
// tlog.ParseTree accepts only the Go checksum database's origin line.
func openCheckpoint(text []byte, verifiers note.Verifiers) tree {
	n, err := note.Open(text, verifiers)
	if err != nil {
		fail("note.Open: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		fail("checkpoint body has fewer than three lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		fail("checkpoint size %q", lines[1])
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root %q: %v", lines[2], err)
	}
	return tree{origin: lines[0], size: size, hash: h}
}

func readFile(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	return b
}

func hexHashes(lines []string) []tlog.Hash {
	var out []tlog.Hash
	for _, l := range lines {
		if l == "" {
			continue
		}
		b, err := hex.DecodeString(l)
		if err != nil || len(b) != tlog.HashSize {
			fail("proof hash %q", l)
		}
		var h tlog.Hash
		copy(h[:], b)
		out = append(out, h)
	}
	return out
}

func main() {
	vkey := flag.String("vkey", "", "the log's verifier key (GET /audit/verifier-key)")
	oldPath := flag.String("old", "", "older checkpoint note")
	newPath := flag.String("new", "", "newer checkpoint note")
	consPath := flag.String("consistency", "", "consistency proof, one hex hash per line")
	proofPath := flag.String("proof", "", "C2SP tlog-proof of one audit entry")
	baseURL := flag.String("url", "", "the log's base URL: read the checkpoint and hash tiles from its public endpoints")
	witnessKey := flag.String("witness", "", "a witness's verifier key whose cosignature the served checkpoint must carry")
	leafIndex := flag.Int64("leaf-index", -1, "leaf index (seq - 1) of an entry to prove included")
	leafData := flag.String("leaf-data", "", "that entry's chain hash (hex), the leaf's data")
	flag.Parse()

	v, err := note.NewVerifier(strings.TrimSpace(*vkey))
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	verifiers := note.VerifierList(v)

	if *baseURL != "" {
		checkPublic(strings.TrimRight(*baseURL, "/"), v, *witnessKey, *oldPath, *leafIndex, *leafData)
		return
	}

	if *newPath != "" {
		newer := openCheckpoint(readFile(*newPath), verifiers)
		fmt.Printf("ok checkpoint %s size %d signed by %s\n", newer.origin, newer.size, v.Name())
		if *oldPath != "" {
			older := openCheckpoint(readFile(*oldPath), verifiers)
			if older.origin != newer.origin {
				fail("origins differ: %q and %q", older.origin, newer.origin)
			}
			proof := tlog.TreeProof(hexHashes(strings.Split(string(readFile(*consPath)), "\n")))
			if err := tlog.CheckTree(proof, newer.size, newer.hash, older.size, older.hash); err != nil {
				fail("tlog.CheckTree %d -> %d: %v", older.size, newer.size, err)
			}
			fmt.Printf("ok consistency %d -> %d\n", older.size, newer.size)
		}
	}

	if *proofPath != "" {
		checkProof(readFile(*proofPath), verifiers)
	}
}

// checkProof reads a C2SP tlog-proof: header, extra (our entry as JSON), index, base64 path, blank line, checkpoint.
func checkProof(text []byte, verifiers note.Verifiers) {
	parts := strings.SplitN(string(text), "\n\n", 2)
	if len(parts) != 2 {
		fail("tlog-proof without a checkpoint")
	}
	sc := bufio.NewScanner(strings.NewReader(parts[0]))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 3 || lines[0] != "c2sp.org/tlog-proof@v1" || !strings.HasPrefix(lines[1], "extra ") || !strings.HasPrefix(lines[2], "index ") {
		fail("tlog-proof header")
	}
	extra, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[1], "extra "))
	if err != nil {
		fail("extra: %v", err)
	}
	var entry struct {
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(extra, &entry); err != nil {
		fail("extra entry: %v", err)
	}
	index, err := strconv.ParseInt(strings.TrimPrefix(lines[2], "index "), 10, 64)
	if err != nil || index != entry.Seq-1 {
		fail("index %q for seq %d", lines[2], entry.Seq)
	}
	var path tlog.RecordProof
	for _, l := range lines[3:] {
		h, err := tlog.ParseHash(l)
		if err != nil {
			fail("path hash %q: %v", l, err)
		}
		path = append(path, h)
	}
	cp := openCheckpoint([]byte(parts[1]), verifiers)
	// our leaf data is the entry's 32-byte chain hash; RecordHash is RFC 6962's SHA-256(0x00 || data)
	data, err := hex.DecodeString(entry.Hash)
	if err != nil || len(data) != 32 {
		fail("entry hash %q", entry.Hash)
	}
	if err := tlog.CheckRecord(path, cp.size, cp.hash, index, tlog.RecordHash(data)); err != nil {
		fail("tlog.CheckRecord seq %d in tree %d: %v", entry.Seq, cp.size, err)
	}
	fmt.Printf("ok inclusion of seq %d in tree %d\n", entry.Seq, cp.size)
}

// httpTiles reads C2SP tlog-tiles hash tiles: the path is Go's tile path without its height element
// ("tile/8/0/000.p/3" is served as "tile/0/000.p/3"). Nothing is saved: TileHashReader checks every tile
// against the signed tree before a hash is used.
type httpTiles struct{ base string }

func (httpTiles) Height() int { return 8 }

func (r httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		path := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		res, err := http.Get(r.base + "/audit/" + path)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		if res.StatusCode != 200 {
			return nil, fmt.Errorf("GET %s: %s", path, res.Status)
		}
		out[i] = body
	}
	return out, nil
}

func (httpTiles) SaveTiles([]tlog.Tile, [][]byte) {}

// cosigVerifier checks a C2SP tlog-cosignature/v1 line (key type 0x04): the signature is an 8-byte big-endian
// timestamp and an Ed25519 signature over "cosignature/v1\ntime <t>\n" followed by the checkpoint body.
type cosigVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (c cosigVerifier) Name() string    { return c.name }
func (c cosigVerifier) KeyHash() uint32 { return c.hash }
func (c cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(c.key, signed, sig[8:])
}

// newCosigVerifier parses "<name>+<hex key id>+<base64(0x04 || key)>" and checks the key id is the name's and key's.
func newCosigVerifier(vkey string) cosigVerifier {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 {
		fail("witness key %q", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 0x04 {
		fail("witness key is not a cosignature/v1 Ed25519 key")
	}
	id, err := strconv.ParseUint(parts[1], 16, 32)
	sum := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	if err != nil || uint32(id) != binary.BigEndian.Uint32(sum[:4]) {
		fail("witness key id does not match its name and key")
	}
	return cosigVerifier{name: parts[0], hash: uint32(id), key: ed25519.PublicKey(raw[1:])}
}

func checkPublic(base string, logKey note.Verifier, witnessKey, oldPath string, leafIndex int64, leafData string) {
	res, err := http.Get(base + "/audit/checkpoint")
	if err != nil {
		fail("GET checkpoint: %v", err)
	}
	text, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		fail("GET checkpoint: %v %s", err, res.Status)
	}
	verifiers := []note.Verifier{logKey}
	var witness *cosigVerifier
	if witnessKey != "" {
		w := newCosigVerifier(witnessKey)
		witness = &w
		verifiers = append(verifiers, w)
	}
	served := openCheckpoint(text, note.VerifierList(verifiers...))
	fmt.Printf("ok checkpoint %s size %d signed by %s\n", served.origin, served.size, logKey.Name())
	if witness != nil {
		n, _ := note.Open(text, note.VerifierList(verifiers...))
		found := false
		for _, s := range n.Sigs {
			if s.Name == witness.name && s.Hash == witness.hash {
				found = true
			}
		}
		if !found {
			fail("no valid cosignature from witness %s", witness.name)
		}
		fmt.Printf("ok cosignature by %s\n", witness.name)
	}
	tree := tlog.Tree{N: served.size, Hash: served.hash}
	hashes := tlog.TileHashReader(tree, httpTiles{base})
	if oldPath != "" {
		older := openCheckpoint(readFile(oldPath), note.VerifierList(logKey))
		if older.origin != served.origin {
			fail("origins differ: %q and %q", older.origin, served.origin)
		}
		proof, err := tlog.ProveTree(tree.N, older.size, hashes)
		if err != nil {
			fail("tlog.ProveTree %d -> %d: %v", older.size, tree.N, err)
		}
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, older.size, older.hash); err != nil {
			fail("tlog.CheckTree %d -> %d: %v", older.size, tree.N, err)
		}
		fmt.Printf("ok consistency %d -> %d from tiles\n", older.size, tree.N)
	}
	if leafIndex >= 0 {
		data, err := hex.DecodeString(leafData)
		if err != nil || len(data) != 32 {
			fail("leaf data %q", leafData)
		}
		proof, err := tlog.ProveRecord(tree.N, leafIndex, hashes)
		if err != nil {
			fail("tlog.ProveRecord %d in %d: %v", leafIndex, tree.N, err)
		}
		if err := tlog.CheckRecord(proof, tree.N, tree.Hash, leafIndex, tlog.RecordHash(data)); err != nil {
			fail("tlog.CheckRecord %d in %d: %v", leafIndex, tree.N, err)
		}
		fmt.Printf("ok inclusion of leaf %d in tree %d from tiles\n", leafIndex, tree.N)
	}
}
