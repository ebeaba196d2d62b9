package sync

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitalog/gitalog/engine/catalog"
	"github.com/gitalog/gitalog/engine/gitstore"
	"github.com/gitalog/gitalog/engine/notify"
)

// notifyRun is a sync's part in the notifications: set up before the
// commit, delivered after it.
type notifyRun struct {
	n      *notify.Notifier
	ref    plumbing.ReferenceName // the branch the sync commits on ("" is HEAD)
	remote string                 // with --push
	tgt    *syncTarget            // with --push: the remote's head as last fetched
	// err says why nothing can be delivered this run: the state on the
	// remote could not be read, so where each sink stands is unknown.
	err error
}

// startNotify records, before the sync commits, where each sink without
// delivery state starts: at the commit the sync commits on, so that a
// first run sends what it commits and never the history. With --push the
// state is fetched first: a fresh clone (CI) must start where the last
// run stopped, not at its own head.
func (o *Options) startNotify(ctx context.Context, store *gitstore.Store, cfg *notify.Config, tgt *syncTarget) *notifyRun {
	no := o.notifyOptions
	no.Logger = o.logger()
	no.Source = string(o.scope)
	// The commits no source made are the first source's to tell of.
	no.Unsourced = o.scope != "" && len(o.live) > 0 && o.live[0] == string(o.scope)
	nr := &notifyRun{n: notify.New(store, cfg, no), ref: tgt.ref, tgt: tgt}
	if o.Push {
		nr.remote = tgt.remote
		if err := nr.n.FetchState(ctx, tgt.remote, o.RemoteAuth); err != nil {
			nr.err = fmt.Errorf("reading the delivery state from %s: %w", tgt.remote, err)
			return nr
		}
	}
	if err := nr.n.Start(tgt.commit); err != nil {
		nr.err = err
	}
	return nr
}

// deliver sends the notifications of the commits the sync made, and of
// earlier ones not yet delivered, and with --push pushes the state. What
// fails is a warning and makes the sync partial: the events wait for the
// next run. syncErr is the sync's own outcome; after an error that
// committed nothing, nothing is sent.
func (nr *notifyRun) deliver(ctx context.Context, o *Options, res *Result, syncErr error) error {
	if syncErr != nil && !errors.Is(syncErr, catalog.ErrPartial) {
		return syncErr
	}
	fail := func(err error) error {
		if !errors.Is(err, catalog.ErrPartial) {
			err = fmt.Errorf("%w: notifications: %w", catalog.ErrPartial, err)
		}
		if syncErr != nil {
			return errors.Join(syncErr, err)
		}
		return err
	}
	if nr.err != nil {
		return fail(nr.err)
	}
	o.progress("notify", "")
	head, ok, err := nr.n.Store().ResolveRef(nr.ref)
	if err != nil || !ok {
		return fail(fmt.Errorf("reading the branch to notify of: %v", err))
	}
	if nr.remote != "" && !res.Pushed && res.PushedUpToDate == "" {
		// The push failed: what the remote does not hold may yet be
		// redone differently (or by another job), so only what it holds
		// is told of, and no marker goes past it.
		if head, ok = DeliverableTip(nr.n.Store(), head, nr.tgt.remoteCommit, nr.tgt.remoteHas); !ok {
			return syncErr
		}
	}
	rep, err := nr.n.Deliver(ctx, head)
	res.Notified = rep
	if err != nil {
		return fail(err)
	}
	pending := rep.Err()
	if nr.remote != "" {
		if err := nr.n.PushState(ctx, nr.remote, o.RemoteAuth); err != nil {
			pending = errors.Join(pending, fmt.Errorf("pushing the delivery state: %w", err))
		}
	}
	if pending != nil {
		return fail(pending)
	}
	return syncErr
}

// DeliverableTip is how far notifications may go when commits are pushed:
// local, when the remote holds it; the remote's head, when local is ahead
// of it (its commits are not pushed yet, and a redo may replace them); ok
// is false when there is nothing the remote holds to tell of.
func DeliverableTip(store *gitstore.Store, local, remote plumbing.Hash, remoteOK bool) (plumbing.Hash, bool) {
	if !remoteOK || local.IsZero() {
		return plumbing.ZeroHash, false
	}
	if local == remote {
		return local, true
	}
	if on, err := store.IsAncestor(local, remote); err == nil && on {
		return local, true
	}
	if ahead, err := store.IsAncestor(remote, local); err == nil && ahead {
		return remote, true
	}
	return plumbing.ZeroHash, false
}
