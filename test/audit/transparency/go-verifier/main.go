// Command go-verifier checks our audit checkpoints and proofs with Go's golang.org/x/mod/sumdb/note and
// sumdb/tlog, an implementation no one on this project wrote. Built GOPATH-style (GO111MODULE=off) against
// Debian's golang-golang-x-mod-dev by test/audit/transparency/go-verifier.test.ts.
//
// Usage: go-verifier -vkey VKEY [-old FILE -new FILE -consistency FILE] [-proof FILE]
// Prints one "ok" line per check; exits 1 with "FAIL: reason" on the first that does not hold.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
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
	flag.Parse()

	v, err := note.NewVerifier(strings.TrimSpace(*vkey))
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	verifiers := note.VerifierList(v)

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
