package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding the Go runtime and process collectors, for New to add a
// migration's metrics to. It is a registry of its own, never the global one, so nothing else in the
// process (a library registering on the default registry) ends up on doppel's /metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister( // cannot fail: the registry is empty and the two do not overlap
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// shutdownTimeout bounds how long Serve waits for scrapes in flight once its context ends.
const shutdownTimeout = 5 * time.Second

// Server serves /metrics and /healthz on a bound address.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen binds addr (host:port; port 0 picks a free one), so a taken port is reported at once,
// before the migration starts. Nothing is served until Serve runs.
//
// /metrics serves what g gathers in the Prometheus text format. /healthz answers 200 "ok" while
// healthy returns nil and 503 with its error otherwise; a nil healthy is always healthy.
func Listen(addr string, g prometheus.Gatherer, healthy func() error) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if healthy != nil {
			if err := healthy(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintln(w, err)
				return
			}
		}
		_, _ = fmt.Fprintln(w, "ok")
	})
	return &Server{ln: ln, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves until ctx ends, then lets scrapes in flight finish (for up to 5 s) and returns nil.
// It returns an error if serving fails or the shutdown is cut short. Call it once.
func (s *Server) Serve(ctx context.Context) error {
	served := make(chan error, 1)
	go func() { served <- s.srv.Serve(s.ln) }()
	select {
	case err := <-served: // http.Server.Serve only returns on failure here
		return fmt.Errorf("metrics: serving on %s: %w", s.Addr(), err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(shutCtx)
	if err != nil {
		err = errors.Join(fmt.Errorf("metrics: stopping the server on %s: %w", s.Addr(), err), s.srv.Close())
	}
	_ = <-served // http.ErrServerClosed, now that Shutdown or Close ran
	return err
}
