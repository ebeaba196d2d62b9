package gitstore

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	format "github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// readConfig parses a git config file with go-git's decoder; a missing
// file is an empty config.
func readConfig(p string) (*format.Config, error) {
	cfg := format.New()
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := format.NewDecoder(f).Decode(cfg); err != nil {
		// go-git's decoder refuses some syntax git accepts (the old
		// "[branch.main]" header, a byte-order mark); git is the authority
		// on its own config, so it reads the file when it is installed.
		if c, gerr := gitConfigFile(p); gerr == nil {
			return c, nil
		}
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return cfg, nil
}

// gitConfigFile reads the config file p with `git config --list -z`.
func gitConfigFile(p string) (*format.Config, error) {
	gitPath, err := lookGit()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(gitPath, "config", "--file", p, "--list", "-z").Output()
	if err != nil {
		return nil, err
	}
	cfg := format.New()
	for _, e := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		key, value, _ := strings.Cut(e, "\n")
		if sec, sub, name, ok := splitKey(key); ok {
			cfg.AddOption(sec, sub, name, value)
		}
	}
	return cfg, nil
}

// splitKey splits a config key as git prints it, section[.subsection].name;
// a subsection may hold dots. sub is format.NoSubsection when there is none.
func splitKey(key string) (section, sub, name string, ok bool) {
	dot, last := strings.IndexByte(key, '.'), strings.LastIndexByte(key, '.')
	if dot < 0 {
		return "", "", "", false
	}
	if dot != last {
		sub = key[dot+1 : last]
	}
	return key[:dot], sub, key[last+1:], true
}

// userConfig returns section.key from the system and global config
// files, the last that sets it winning, as git reads them. Files missing
// or malformed are skipped: a fallback is better than a failed sync.
func userConfig(section, key string) (string, bool) {
	var files []string
	if os.Getenv("GIT_CONFIG_NOSYSTEM") == "" {
		files = append(files, "/etc/gitconfig")
	}
	home, _ := os.UserHomeDir()
	if g := os.Getenv("GIT_CONFIG_GLOBAL"); g != "" {
		files = append(files, g)
	} else if home != "" {
		xdg := cmp.Or(os.Getenv("XDG_CONFIG_HOME"), filepath.Join(home, ".config"))
		files = append(files, filepath.Join(xdg, "git", "config"), filepath.Join(home, ".gitconfig"))
	}
	for i := len(files) - 1; i >= 0; i-- {
		if c, err := readConfig(files[i]); err == nil && c.Section(section).HasOption(key) {
			return c.Section(section).Option(key), true
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

// DefaultSignature is the identity git would use for an author: GIT_AUTHOR_*
// from the environment, then author.* / user.* from the config, then
// $EMAIL, then "gitalog <gitalog@localhost>". The config is read again:
// git config may have changed it since Open.
func (s *Store) DefaultSignature() object.Signature {
	get := s.configGetter(`^(author|user)\.(name|email)$`)
	pick := func(env string, keys ...string) string {
		if v := strings.TrimSpace(os.Getenv(env)); v != "" {
			return v
		}
		for _, k := range keys {
			if v := strings.TrimSpace(get(k)); v != "" {
				return v
			}
		}
		return ""
	}
	name := pick("GIT_AUTHOR_NAME", "author.name", "user.name")
	email := pick("GIT_AUTHOR_EMAIL", "author.email", "user.email")
	if email == "" {
		email = strings.TrimSpace(os.Getenv("EMAIL"))
	}
	return object.Signature{Name: cmp.Or(name, "gitalog"), Email: cmp.Or(email, "gitalog@localhost"), When: time.Now()}
}

// ParseSignature parses "Name <email>", the form git prints and accepts
// for --author. When is set to now.
func ParseSignature(s string) (object.Signature, error) {
	s = strings.TrimSpace(s)
	lt := strings.LastIndexByte(s, '<')
	if lt < 0 || !strings.HasSuffix(s, ">") {
		return object.Signature{}, fmt.Errorf("signature %q: want \"Name <email>\"", s)
	}
	sig := object.Signature{Name: strings.TrimSpace(s[:lt]), Email: strings.TrimSpace(s[lt+1 : len(s)-1]), When: time.Now()}
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
func checkFormat(dir string, cfg *format.Config) error {
	refuse := func(why string) error { return &formatError{dir: dir, why: why} }
	if v := cfg.Section("core").Option("repositoryformatversion"); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 0 || n > 1 {
			return refuse(fmt.Sprintf("has core.repositoryformatversion = %s; gitalog supports versions 0 and 1", v))
		}
	}
	// Extensions are checked whatever the version: git refuses the
	// v1-only ones in a version 0 repository too.
	for _, o := range cfg.Section("extensions").Options {
		key, val := "extensions."+o.Key, strings.TrimSpace(o.Value)
		switch strings.ToLower(o.Key) {
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

// formatError says, in a user's words, why a repository was refused.
type formatError struct{ dir, why string }

func (e *formatError) Error() string { return e.dir + " " + e.why }

func (e *formatError) Unwrap() error { return ErrUnsupportedFormat }

// sparseCheckout reports whether the worktree is a sparse checkout, as
// core.sparseCheckout in the repository's config or, with
// extensions.worktreeConfig, the worktree's own.
func (s *Store) sparseCheckout() bool {
	v := s.cfg.Section("core").Option("sparsecheckout")
	if wt, err := readConfig(filepath.Join(s.gitDir, "config.worktree")); err == nil && wt.Section("core").HasOption("sparsecheckout") {
		v = wt.Section("core").Option("sparsecheckout")
	}
	return v != "" && parseBool(v)
}

// configGetter returns the values of the keys matching re (a regexp over
// lower-case "section.key" names, subsections excluded) as git sees them in
// this repository: read by the user's git when it is installed, so that
// includes, includeIf, GIT_CONFIG_* and the worktree's config apply;
// otherwise from the repository's, global and system config files.
func (s *Store) configGetter(re string) func(key string) string {
	if gitPath, err := lookGit(); err == nil {
		out, err := exec.Command(gitPath, "-C", s.root, "config", "-z", "--get-regexp", re).Output()
		var ee *exec.ExitError
		if err == nil || errors.As(err, &ee) && ee.ExitCode() == 1 { // 1: none set
			vals := map[string]string{}
			for _, e := range strings.Split(string(out), "\x00") {
				if k, v, ok := strings.Cut(e, "\n"); ok {
					vals[strings.ToLower(k)] = v // the last one wins, as in git
				}
			}
			return func(key string) string { return vals[strings.ToLower(key)] }
		}
	}
	repo, err := readConfig(filepath.Join(s.commonDir, "config"))
	if err != nil {
		repo = s.cfg
	}
	return func(key string) string {
		sec, sub, name, _ := splitKey(key)
		if sub != format.NoSubsection {
			return repo.Section(sec).Subsection(sub).Option(name)
		}
		if v := repo.Section(sec).Option(name); v != "" {
			return v
		}
		v, _ := userConfig(sec, name)
		return v
	}
}
