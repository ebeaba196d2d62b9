// Package notify turns catalog commits into notifications: each commit's
// change set, per entity, becomes events (created, changed, deleted, and
// for Sentry issues regressed, resolved, assigned) that go to the sinks of
// gitalog.yaml's notify: section.
//
// Configuration (engine/mapping parses the key and calls Parse):
//
//	notify:
//	  - tcp: 127.0.0.1:9999                  # one UTF-8 message per connection (seed 002's dummy server)
//	  - webhook: https://example.com/hooks   # JSON POST per event, with an Idempotency-Key header
//	    name: catalog-hook                   # optional; names the state ref
//	  - slack: {env: SLACK_WEBHOOK_URL}      # Slack incoming webhook, {"text": ...}
//	    events: [created, regressed]         # default: created, regressed, resolved, assigned
//	    blueprints: [issue]                  # default: every blueprint
//	    when: .properties.level == "fatal"   # jq on the entity (as in its file); no output or false/null skips
//	    template: "{{ project }} {{ title }} ({{ count }} times seen). {{ link }}"
//
// An address or URL is written out or read from the environment with
// {env: NAME}; a URL is shown (logs, errors) by its scheme and host only.
// Templates are Liquid (engine/template); Vars lists what they see.
//
// Delivery is at least once and, when nothing fails, exactly once. Each
// sink's state is a ref, refs/gitalog/notified/<name> (with several
// sources, each source's refs/gitalog/sources/<source>/notified/<name>),
// at the last commit all of whose events it received; it moves by compare-and-swap, only
// forward, after each fully delivered commit, and travels with the
// repository (FetchState, PushState) so that a CI clone knows it. A sink
// with no ref starts where Start says (the head a sync commits on), never
// with the history. Deliver walks the first-parent line from the ref to
// the head, oldest first; a sink that fails after its retries keeps its
// place and gets everything from there on the next run, while the other
// sinks go on. Deliveries take a lock of their own, so two runs never
// send the same event, and commits never wait for a slow sink.
package notify
