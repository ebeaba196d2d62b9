package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// push POSTs the JSON file BODY to the serve at ADDR as
// POST /push/KIND, with Authorization: Bearer $GITALOG_PUSH_TOKEN (or
// TOKEN with -token), and an Idempotency-Key when KEY is given, as curl
// would; it prints the HTTP status, then the answer's body. It waits for
// the server to listen.
//
//	push [-token TOKEN] ADDR KIND BODY [KEY]
func cmdPush(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! push")
	}
	token := ts.Getenv("GITALOG_PUSH_TOKEN")
	if len(args) > 1 && args[0] == "-token" {
		token, args = args[1], args[2:]
	}
	if len(args) != 3 && len(args) != 4 {
		ts.Fatalf("usage: push [-token TOKEN] ADDR KIND BODY [KEY]")
	}
	body, err := os.ReadFile(ts.MkAbs(args[2]))
	ts.Check(err)
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodPost, "http://"+args[0]+"/push/"+args[1], bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if len(args) == 4 {
			req.Header.Set("Idempotency-Key", args[3])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if time.Now().After(deadline) {
				ts.Fatalf("push: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(ts.Stdout(), "%d\n%s", resp.StatusCode, answer)
		return
	}
}
