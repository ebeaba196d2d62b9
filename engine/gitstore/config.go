package gitstore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
)

// configGet returns the value of section.key (a section without a
// subsection; both in any case) from the last of files that sets it, as
// git reads its config files in precedence order. Files missing or
// malformed are skipped: git itself would complain, but a fallback
// signature is better than a failed sync.
func configGet(files []string, section, key string) (string, bool) {
	for i := len(files) - 1; i >= 0; i-- {
		data, err := os.ReadFile(files[i])
		if err != nil {
			continue
		}
		entries, err := scanConfig(data)
		if err != nil {
			continue
		}
		for j := len(entries) - 1; j >= 0; j-- {
			if e := entries[j]; e.section == section && strings.EqualFold(e.key, key) {
				return e.value, true
			}
		}
	}
	return "", false
}

func parseBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1", "":
		return true
	}
	return false
}

// userConfigFiles lists system and global config files, lowest precedence
// first, honouring the same environment overrides as git.
func userConfigFiles() []string {
	var files []string
	if os.Getenv("GIT_CONFIG_NOSYSTEM") == "" {
		files = append(files, "/etc/gitconfig")
	}
	if g := os.Getenv("GIT_CONFIG_GLOBAL"); g != "" {
		return append(files, g)
	}
	home, _ := os.UserHomeDir()
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	if xdg != "" {
		files = append(files, filepath.Join(xdg, "git", "config"))
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".gitconfig"))
	}
	return files
}

func (s *Store) configFiles() []string {
	return append(userConfigFiles(), filepath.Join(s.commonDir, "config"))
}

// DefaultSignature is the identity git would use for an author: GIT_AUTHOR_*
// from the environment, then author.* / user.* from repository, global and
// system config, then $EMAIL, then "gitalog <gitalog@localhost>".
func (s *Store) DefaultSignature() object.Signature {
	files := s.configFiles()
	pick := func(env string, keys ...string) string {
		if v := strings.TrimSpace(os.Getenv(env)); v != "" {
			return v
		}
		for _, k := range keys {
			sec, key, _ := strings.Cut(k, ".")
			if v, ok := configGet(files, sec, key); ok && strings.TrimSpace(v) != "" {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	name := pick("GIT_AUTHOR_NAME", "author.name", "user.name")
	email := pick("GIT_AUTHOR_EMAIL", "author.email", "user.email")
	if email == "" {
		email = strings.TrimSpace(os.Getenv("EMAIL"))
	}
	if name == "" {
		name = "gitalog"
	}
	if email == "" {
		email = "gitalog@localhost"
	}
	return object.Signature{Name: name, Email: email, When: time.Now()}
}

// ParseSignature parses "Name <email>", the form git prints and accepts
// for --author. When is set to now.
func ParseSignature(s string) (object.Signature, error) {
	s = strings.TrimSpace(s)
	lt := strings.LastIndexByte(s, '<')
	if lt < 0 || !strings.HasSuffix(s, ">") {
		return object.Signature{}, fmt.Errorf("signature %q: want \"Name <email>\"", s)
	}
	name := strings.TrimSpace(s[:lt])
	email := strings.TrimSpace(s[lt+1 : len(s)-1])
	sig := object.Signature{Name: name, Email: email, When: time.Now()}
	if err := checkSignature(sig); err != nil {
		return object.Signature{}, fmt.Errorf("signature %q: %w", s, err)
	}
	return sig, nil
}

// checkSignature rejects identities that would produce a commit header
// git fsck --strict refuses.
func checkSignature(sig object.Signature) error {
	if strings.TrimSpace(sig.Name) == "" {
		return fmt.Errorf("empty name")
	}
	for _, f := range []string{sig.Name, sig.Email} {
		if strings.ContainsAny(f, "<>\n\x00") {
			return fmt.Errorf("name and email must not contain '<', '>', NUL or newlines")
		}
	}
	return nil
}

// checkFormat refuses a repository that gitstore would corrupt by writing
// to it, as git itself refuses a format it does not know: the format
// version and every extensions.* key in the repository's config are
// checked (git honours extensions only from there, never from user
// config or includes). Objects are SHA-1 and refs are loose files or
// packed-refs here; a SHA-256 repository written with SHA-1 ids becomes
// unreadable.
func checkFormat(dir, commonDir string) error {
	p := filepath.Join(commonDir, "config")
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil // git treats a missing config as format version 0
	}
	if err != nil {
		return err
	}
	entries, err := scanConfig(data)
	if err != nil {
		// git stops at such a file too; without it, whether a write
		// would be safe is unknown.
		return fmt.Errorf("reading %s: %w", p, err)
	}
	refuse := func(why string) error {
		return &formatError{dir: dir, why: why}
	}
	for _, e := range entries {
		if e.section == "core" && strings.EqualFold(e.key, "repositoryformatversion") {
			if v, err := strconv.Atoi(strings.TrimSpace(e.value)); err != nil || v < 0 || v > 1 {
				return refuse(fmt.Sprintf("has core.repositoryformatversion = %s; gitalog supports versions 0 and 1", e.value))
			}
		}
	}
	// Extensions are checked whatever the version: git refuses the
	// v1-only ones in a version 0 repository too.
	for _, e := range entries {
		if e.section != "extensions" {
			continue
		}
		key := "extensions." + e.key
		val := strings.TrimSpace(e.value)
		switch strings.ToLower(e.key) {
		case "objectformat":
			key = "extensions.objectFormat"
			switch strings.ToLower(val) {
			case "sha1":
			case "sha256":
				return refuse(fmt.Sprintf("is a SHA-256 repository (%s = %s); gitalog supports SHA-1 repositories only", key, val))
			default:
				return refuse(fmt.Sprintf("uses the object format %q (%s); gitalog supports SHA-1 repositories only", val, key))
			}
		case "refstorage":
			key = "extensions.refStorage"
			if !strings.EqualFold(val, "files") {
				return refuse(fmt.Sprintf("stores its refs as %s (%s = %s); gitalog supports the \"files\" ref storage only (git refs migrate --ref-format=files converts it)", val, key, val))
			}
		// Understood: noop is nothing; precious objects are never
		// deleted here (only gitalog's own temp packs are); partial
		// clones read what is present and fail plainly on what is not;
		// per-worktree config holds nothing gitstore reads; relative
		// worktree paths are resolved like absolute ones.
		case "noop", "noop-v1", "preciousobjects", "partialclone", "worktreeconfig", "relativeworktrees":
		default:
			return refuse(fmt.Sprintf("uses the repository extension %s = %s, which gitalog does not support", key, val))
		}
	}
	return nil
}

// cfgEntry is one key of a config section without a subsection; section
// is lower case, key as written.
type cfgEntry struct{ section, key, value string }

// scanConfig reads a config file the way git's parser does (comments,
// quotes, escapes, backslash continuations, "[section.sub]" headers, keys
// after a header on the same line), keeping the keys of sections without
// a subsection. go-git's decoder is not used here: it rejects valid files
// (the legacy "[branch.main]" header), and refusing those would refuse
// repositories git works with.
func scanConfig(data []byte) ([]cfgEntry, error) {
	var out []cfgEntry
	section, sub := "", false
	line := 1
	i := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) { // git skips a UTF-8 BOM
		i = 3
	}
	peek := func() byte {
		if i < len(data) {
			return data[i]
		}
		return 0
	}
	bad := func(why string) error { return fmt.Errorf("line %d: %s", line, why) }
	skipLine := func() {
		for i < len(data) && data[i] != '\n' {
			i++
		}
	}
	for i < len(data) {
		c := data[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#' || c == ';':
			skipLine()
		case c == '[':
			i++
			start := i
			for i < len(data) && (isAlnum(data[i]) || data[i] == '-' || data[i] == '.') {
				i++
			}
			name := strings.ToLower(string(data[start:i]))
			if name == "" {
				return nil, bad("bad section header")
			}
			section, sub = name, false
			if dot := strings.IndexByte(name, '.'); dot >= 0 {
				section, sub = name[:dot], true
			}
			for peek() == ' ' || peek() == '\t' {
				i++
			}
			if peek() == '"' {
				sub = true
				i++
				for i < len(data) && data[i] != '"' {
					if data[i] == '\n' {
						return nil, bad("unterminated section header")
					}
					if data[i] == '\\' {
						i++
					}
					i++
				}
				i++
			}
			if peek() != ']' {
				return nil, bad("bad section header")
			}
			i++
		case isAlpha(c):
			start := i
			for i < len(data) && (isAlnum(data[i]) || data[i] == '-') {
				i++
			}
			key := string(data[start:i])
			for peek() == ' ' || peek() == '\t' {
				i++
			}
			value := "true" // a key alone is a boolean true
			switch peek() {
			case '=':
				i++
				v, n, err := scanValue(data[i:])
				if err != nil {
					return nil, bad(err.Error())
				}
				i += n
				line += strings.Count(string(data[i-n:i]), "\n")
				value = v
			case '\n', '\r', '#', ';', 0:
			default:
				return nil, bad("bad key")
			}
			if section != "" && !sub {
				out = append(out, cfgEntry{section, key, value})
			}
		default:
			return nil, bad("bad line")
		}
	}
	return out, nil
}

// scanValue reads a value up to its end of line (or comment), returning
// it and the bytes consumed (not the final newline).
func scanValue(data []byte) (string, int, error) {
	var b strings.Builder
	quoted := false
	pending := 0 // unquoted trailing spaces, dropped at the end
	i := 0
	for ; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\n':
			if quoted {
				return "", i, errors.New("unterminated quote")
			}
			return b.String()[:b.Len()-pending], i, nil
		case !quoted && (c == '#' || c == ';'):
			for i < len(data) && data[i] != '\n' {
				i++
			}
			return b.String()[:b.Len()-pending], i, nil
		case c == '"':
			quoted = !quoted
			pending = 0
		case c == '\\':
			i++
			if i == len(data) {
				return "", i, errors.New("backslash at the end of the file")
			}
			switch data[i] {
			case '\n': // continuation
			case '\r':
				if i+1 < len(data) && data[i+1] == '\n' {
					i++
				}
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case '"', '\\':
				b.WriteByte(data[i])
			default:
				return "", i, errors.New("bad escape")
			}
			pending = 0
		case !quoted && (c == ' ' || c == '\t' || c == '\r'):
			if b.Len() > 0 { // leading blanks are dropped
				b.WriteByte(' ')
				pending++
			}
		default:
			b.WriteByte(c)
			pending = 0
		}
	}
	if quoted {
		return "", i, errors.New("unterminated quote")
	}
	return b.String()[:b.Len()-pending], i, nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }

// formatError says, in a user's words, why a repository was refused.
type formatError struct{ dir, why string }

func (e *formatError) Error() string {
	return e.dir + " " + e.why
}

func (e *formatError) Unwrap() error { return ErrUnsupportedFormat }
