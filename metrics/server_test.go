package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts a server for a registry holding shop.orders' metrics on a free loopback port; stop
// ends it and returns what Serve returned.
func serve(t *testing.T, healthy func() error) (base string, stop func() error) {
	t.Helper()
	reg := NewRegistry()
	m, err := New(reg, "shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	m.SetState("copying")
	srv, err := Listen("127.0.0.1:0", reg, healthy)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-served:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after its context ended")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + srv.Addr().String(), stop
}

// get fetches url without keeping the connection, so no idle connection outlives the test.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestServer(t *testing.T) {
	var unhealthy atomic.Pointer[string] // set by the test, read by the server's goroutines
	base, _ := serve(t, func() error {
		if reason := unhealthy.Load(); reason != nil {
			return errors.New(*reason)
		}
		return nil
	})
	tests := []struct {
		name     string
		path     string
		health   string // "": healthy
		wantCode int
		wantBody []string
	}{
		{
			name: "metrics", path: "/metrics", wantCode: http.StatusOK,
			wantBody: []string{
				`doppel_state{database="shop",state="copying",table="orders"} 1`,
				"# TYPE doppel_copy_rows_total counter",
				"go_goroutines ",
			},
		},
		{name: "healthy", path: "/healthz", wantCode: http.StatusOK, wantBody: []string{"ok\n"}},
		{
			name: "unhealthy", path: "/healthz", health: "the binlog stream is down",
			wantCode: http.StatusServiceUnavailable, wantBody: []string{"the binlog stream is down\n"},
		},
		{name: "other paths", path: "/", wantCode: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			unhealthy.Store(nil)
			if tc.health != "" {
				unhealthy.Store(&tc.health)
			}
			code, body := get(t, base+tc.path)
			if code != tc.wantCode {
				t.Errorf("GET %s: status %d, want %d", tc.path, code, tc.wantCode)
			}
			for _, want := range tc.wantBody {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s: the body has no %q:\n%s", tc.path, want, body)
				}
			}
		})
	}
}

func TestServerNilHealthy(t *testing.T) {
	base, _ := serve(t, nil)
	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q, want 200 \"ok\\n\"", code, body)
	}
}

func TestServerStopsWithContext(t *testing.T) {
	base, stop := serve(t, nil)
	get(t, base+"/metrics")
	if err := stop(); err != nil {
		t.Fatalf("Serve returned %v after its context ended, want nil", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the server still answers after Serve returned")
	}
}

// A taken port is reported by Listen, before anything is served.
func TestListenPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Listen(ln.Addr().String(), NewRegistry(), nil); err == nil {
		t.Fatalf("Listen on the taken address %s succeeded", ln.Addr())
	}
}
